import NIOHTTP1

/// The checks every request head passes before routing (SPEC §4): pure, so
/// each rule is unit-tested without a socket. One pass over the headers,
/// because this runs for every request.
public enum RequestHeadCheck: Equatable {
    /// Acceptable. `declaredLength` is the Content-Length (nil when chunked or none).
    case accept(declaredLength: Int?, chunked: Bool, expectsContinue: Bool)
    /// Answer `status` without reading the body; `close` ends the connection after it.
    case reject(HTTPResponseStatus, close: Bool)

    static let http2 = HTTPVersion(major: 2, minor: 0)

    /// `maxHeadSize`: `max_header_size`, counted over the request line and the
    /// header lines (each with its CRLF), as the client sent them.
    public init(_ head: HTTPRequestHead, maxHeadSize: Int = .max) {
        // HTTP/2.0 heads come from an h2 stream (NIOHTTP2's codec); an
        // HTTP/1 connection's decoder never makes one.
        guard (head.version.major == 1 && head.version.minor <= 1) || head.version == Self.http2 else {
            self = .reject(.httpVersionNotSupported, close: true)
            return
        }
        // An origin server is no tunnel (nginx answers 400 too). NIOHTTP1 sends
        // no body in a response to CONNECT, so the close is what frames it.
        if head.method == .CONNECT {
            self = .reject(.badRequest, close: true)
            return
        }
        // "GET /x HTTP/1.1\r\n": llhttp's own limit counts header bytes only.
        var headSize = head.method.rawValue.utf8.count + head.uri.utf8.count + 12
        var hosts = 0
        var hostIsValid = true
        var lengths: [Substring] = []
        var chunked = false
        var unknownCoding = false
        var expectations = 0
        var expectsContinue = false
        for (name, value) in head.headers {
            headSize += name.utf8.count + value.utf8.count + 4  // "name: value\r\n"
            switch name.utf8.count {
            case 4 where name.isASCIICaseInsensitiveEqual("host"):
                hosts += 1
                hostIsValid = hostIsValid && Self.isValidHost(value)
            case 14 where name.isASCIICaseInsensitiveEqual("content-length"):
                lengths.append(contentsOf: value.split(separator: ",", omittingEmptySubsequences: false))
            case 17 where name.isASCIICaseInsensitiveEqual("transfer-encoding"):
                // Only "chunked" is implemented; "gzip, chunked" would reach a script
                // still compressed (nginx: 501).
                if chunked || !value.trimmingSpaces.isASCIICaseInsensitiveEqual("chunked") { unknownCoding = true }
                chunked = true
            case 6 where name.isASCIICaseInsensitiveEqual("expect"):
                expectations += 1
                expectsContinue = value.trimmingSpaces.lowercased() == "100-continue"
            default:
                continue
            }
        }
        if headSize > maxHeadSize {
            self = .reject(.requestHeaderFieldsTooLarge, close: true)
            return
        }
        if hosts > 1 || (head.version.minor == 1 && hosts == 0) || !hostIsValid {
            self = .reject(.badRequest, close: true)
            return
        }
        // Request smuggling: both framings at once is refused outright (RFC 9112 §6.3).
        if !lengths.isEmpty && chunked {
            self = .reject(.badRequest, close: true)
            return
        }
        if unknownCoding {
            self = .reject(.notImplemented, close: true)
            return
        }
        var declared: Int?
        if !lengths.isEmpty {
            let values = Set(lengths.map { $0.trimmingSpaces })
            guard values.count == 1, let value = values.first, !value.isEmpty,
                  value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let length = Int(value)
            else {
                self = .reject(.badRequest, close: true)
                return
            }
            declared = length
        }
        if expectations > 0 {
            guard expectations == 1, expectsContinue else {
                self = .reject(.expectationFailed, close: true)
                return
            }
            // HTTP/1.0 clients do not know 100 Continue (RFC 9110 §10.1.1).
            expectsContinue = head.version.minor == 1
        }
        self = .accept(declaredLength: declared, chunked: chunked, expectsContinue: expectsContinue)
    }

    /// A Host value as RFC 9110 §7.2 allows it: a registered name (RFC 3986
    /// reg-name, no empty labels such as "..") or a bracketed IP literal,
    /// with an optional numeric port; empty is allowed (no authority). "a/b",
    /// "a b" and ".." would otherwise become SERVER_NAME and log fields.
    package static func isValidHost(_ value: String) -> Bool {
        var value = value
        // Every request has one: a scan of contiguous bytes, not of a view's indices.
        return value.withUTF8 { isValidHost(bytes: $0) }
    }

    private static func isValidHost(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        guard count > 0 else { return true }
        if bytes[0] == UInt8(ascii: "[") {
            index = 1
            while index < count && bytes[index] != UInt8(ascii: "]") {
                let byte = bytes[index]
                guard byte.isHexDigit || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".") else { return false }
                index += 1
            }
            // No "]", or "[]".
            guard index < count, index > 1 else { return false }
            index += 1
        } else {
            var previous: UInt8 = 0
            while index < count && bytes[index] != UInt8(ascii: ":") {
                let byte = bytes[index]
                guard isRegNameByte(byte) else { return false }
                if byte == UInt8(ascii: "."), previous == UInt8(ascii: ".") || previous == 0 { return false }
                previous = byte
                index += 1
            }
            guard index > 0 else { return false }
        }
        guard index < count else { return true }
        // ":" and up to five digits.
        guard bytes[index] == UInt8(ascii: ":"), count - index - 1 <= 5 else { return false }
        index += 1
        while index < count {
            guard bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9") else { return false }
            index += 1
        }
        return true
    }

    /// RFC 3986 reg-name: unreserved, sub-delims and percent signs.
    private static func isRegNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"),
             UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    /// Does the request carry a body at all?
    public static func hasBody(declaredLength: Int?, chunked: Bool) -> Bool {
        chunked || (declaredLength ?? 0) > 0
    }
}

private extension UInt8 {
    var isHexDigit: Bool {
        (self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9")) || (self | 0x20 >= UInt8(ascii: "a") && self | 0x20 <= UInt8(ascii: "f"))
    }
}

extension StringProtocol {
    /// Header names are ASCII: compare them without allocating a lowercased copy.
    /// `lowercase` must already be lowercase.
    func isASCIICaseInsensitiveEqual(_ lowercase: StaticString) -> Bool {
        let other = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        guard utf8.count == other.count else { return false }
        for (byte, expected) in zip(utf8, other) where byte.asciiLowercased != expected { return false }
        return true
    }

    /// The same bytes, letters A–Z and a–z alike.
    func equalsIgnoringASCIICase(_ other: some StringProtocol) -> Bool {
        utf8.elementsEqual(other.utf8) { $0.asciiLowercased == $1.asciiLowercased }
    }
}

extension UInt8 {
    /// "A"–"Z" as "a"–"z"; every other byte as it is.
    var asciiLowercased: UInt8 { self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z") ? self | 0x20 : self }
}
