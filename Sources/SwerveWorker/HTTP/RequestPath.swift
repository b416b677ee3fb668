/// The path of a request target, percent-decoded and normalised, as every
/// route sees it: the one place where `..`, `%2e%2e`, `%2f` and NUL are dealt with.
public struct RequestPath: Equatable, Sendable {
    /// Decoded and normalised, always starting with "/"; a trailing slash is kept
    /// (it decides between a file and a directory redirect).
    public var path: String
    /// The raw query (after "?"), without the "?", nil when there is none.
    public var query: String?
    /// The authority of an absolute-form target ("http://h:8080/a" → "h:8080"),
    /// which chooses the vhost instead of Host (RFC 9112 §3.2.2).
    public var authority: String?

    /// Parses an origin-form ("/a/b?x") or absolute-form ("http://h/a") target.
    /// Returns nil for anything that must be answered 400: no leading slash,
    /// bad percent-encoding, NUL, invalid UTF-8, or `..` climbing above "/".
    public init?(target: String) {
        var target = Substring(target)
        // Origin form ("/a?b"), nearly every request, skips the scheme check (and its allocation).
        if target.first != "/", Self.hasHTTPScheme(target), let colon = target.firstIndex(of: ":") {
            let afterScheme = target[target.index(after: colon)...].dropFirst(2)
            guard let slash = afterScheme.firstIndex(of: "/") else { return nil }
            let authority = afterScheme[..<slash]
            // Userinfo ("user@host") has no place in a request target; neither has an invalid host.
            guard !authority.contains("@"), RequestHeadCheck.isValidHost(String(authority)) else { return nil }
            self.authority = String(authority)
            target = afterScheme[slash...]
        }
        guard target.first == "/" else { return nil }
        let rawPath: Substring
        if let mark = target.firstIndex(of: "?") {
            rawPath = target[..<mark]
            query = String(target[target.index(after: mark)...])
        } else {
            rawPath = target
            query = nil
        }
        if Self.isPlain(rawPath.utf8) {
            path = String(rawPath)
            return
        }
        guard let decoded = Self.percentDecode(rawPath), let normalised = Self.normalise(decoded) else { return nil }
        path = normalised
    }

    /// "http://" or "https://", in any case.
    private static func hasHTTPScheme(_ target: Substring) -> Bool {
        let scheme = target.prefix(8).lowercased()
        return scheme.hasPrefix("http://") || scheme.hasPrefix("https://")
    }

    /// The common case, taken without allocating: no escapes, no "//", and no
    /// segment starting with "." (so nothing to decode or normalise).
    static func isPlain(_ bytes: Substring.UTF8View) -> Bool {
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == UInt8(ascii: "%") || byte >= 0x80 { return false }
            if previous == UInt8(ascii: "/") && (byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".")) { return false }
            previous = byte
        }
        return true
    }

    /// Percent-decodes bytes; nil on a malformed escape, NUL or invalid UTF-8.
    package static func percentDecode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        guard !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Resolves "." and ".." segments and repeated slashes; nil when ".." would leave "/".
    package static func normalise(_ path: String) -> String? {
        var segments: [Substring] = []
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        for part in parts {
            switch part {
            case ".": continue
            case "..":
                guard segments.popLast() != nil else { return nil }
            default: segments.append(part)
            }
        }
        let endsWithSlash = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
        var result = "/" + segments.joined(separator: "/")
        if endsWithSlash && !segments.isEmpty { result += "/" }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// True when a segment starts with "." — dotfiles are never served.
    /// `/.well-known/` is the exception (RFC 8615: ACME challenges, security.txt).
    /// One pass over the bytes (no Foundation: this runs for every request).
    public var hasDotSegment: Bool {
        let bytes = path.utf8
        var index = bytes.startIndex
        var first = true
        while let slash = bytes[index...].firstIndex(of: UInt8(ascii: "/")) {
            let start = bytes.index(after: slash)
            guard start < bytes.endIndex else { return false }
            if bytes[start] == UInt8(ascii: ".") {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.endIndex
                if !(first && bytes[start..<end].elementsEqual(".well-known".utf8)) { return true }
            }
            first = false
            index = start
        }
        return false
    }
}
