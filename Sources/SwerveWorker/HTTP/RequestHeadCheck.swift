import NIOHTTP1

/// The checks every request head passes before routing (SPEC §4): pure, so
/// each rule is unit-tested without a socket. One pass over the headers,
/// because this runs for every request.
public enum RequestHeadCheck: Equatable {
    /// Acceptable. `declaredLength` is the Content-Length (nil when chunked or none).
    case accept(declaredLength: Int?, chunked: Bool, expectsContinue: Bool)
    /// Answer `status` without reading the body; `close` ends the connection after it.
    case reject(HTTPResponseStatus, close: Bool)

    public init(_ head: HTTPRequestHead) {
        guard head.version.major == 1, head.version.minor <= 1 else {
            self = .reject(.httpVersionNotSupported, close: true)
            return
        }
        var hosts = 0
        var lengths: [Substring] = []
        var chunked = false
        var expectations = 0
        var expectsContinue = false
        for (name, value) in head.headers {
            switch name.utf8.count {
            case 4 where name.isASCIICaseInsensitiveEqual("host"):
                hosts += 1
            case 14 where name.isASCIICaseInsensitiveEqual("content-length"):
                lengths.append(contentsOf: value.split(separator: ",", omittingEmptySubsequences: false))
            case 17 where name.isASCIICaseInsensitiveEqual("transfer-encoding"):
                chunked = true
            case 6 where name.isASCIICaseInsensitiveEqual("expect"):
                expectations += 1
                expectsContinue = value.trimmingSpaces.lowercased() == "100-continue"
            default:
                continue
            }
        }
        if hosts > 1 || (head.version.minor == 1 && hosts == 0) {
            self = .reject(.badRequest, close: true)
            return
        }
        // Request smuggling: both framings at once is refused outright (RFC 9112 §6.3).
        if !lengths.isEmpty && chunked {
            self = .reject(.badRequest, close: true)
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

    /// Does the request carry a body at all?
    public static func hasBody(declaredLength: Int?, chunked: Bool) -> Bool {
        chunked || (declaredLength ?? 0) > 0
    }
}

extension String {
    /// Header names are ASCII: compare them without allocating a lowercased copy.
    /// `lowercase` must already be lowercase.
    func isASCIICaseInsensitiveEqual(_ lowercase: StaticString) -> Bool {
        let other = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        guard utf8.count == other.count else { return false }
        for (byte, expected) in zip(utf8, other) {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if folded != expected { return false }
        }
        return true
    }
}
