// One `listen:` entry of a vhost, resolved to the sockets the master binds.

import Glibc

/// A numeric address and port to bind. Hosts are numeric only, so binding
/// never depends on DNS or /etc/hosts at (re)load time, and two spellings of
/// the same address compare equal (IPv6 text is normalised by `parse`).
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    /// Which socket family to open; kept explicit so the master need not
    /// re-parse the host text.
    public enum Family: Hashable, Sendable {
        case ipv4, ipv6
    }

    /// Numeric host text: "0.0.0.0", "127.0.0.1", "::", "::1".
    public var host: String
    /// 1...65535 when produced by `parse`.
    public var port: Int
    public var family: Family

    public init(host: String, port: Int, family: Family) {
        self.host = host
        self.port = port
        self.family = family
    }

    /// "0.0.0.0:8080", "[::1]:8080": the form used in logs, errors and `check`,
    /// and accepted back by `parse`.
    public var description: String {
        switch family {
        case .ipv4: return "\(host):\(port)"
        case .ipv6: return "[\(host)]:\(port)"
        }
    }

    /// True for the any-address ("0.0.0.0" or "::"), which vhost matching
    /// treats as covering every address of its family on that port.
    public var isWildcard: Bool {
        host == "0.0.0.0" || host == "::"
    }

    private static func invalid(_ text: String) -> UnitParseError {
        UnitParseError(
            "invalid listen address '\(text)' (use PORT, ADDR:PORT or [IPV6]:PORT with a numeric address)")
    }

    /// Parses one `listen` entry:
    /// - "8080": every address, i.e. `0.0.0.0:8080` then `[::]:8080` (two entries);
    /// - "127.0.0.1:8080", "*:8080" (= 0.0.0.0 only, as nginx);
    /// - "[::1]:8080", "[::]:8080" (IPv6 text is normalised: "[0::1]" → "::1").
    /// Ports outside 1...65535 and non-numeric hosts throw.
    public static func parse(_ text: String) throws(UnitParseError) -> [ListenAddress] {
        let t = text.trimmingBlanks()
        guard !t.isEmpty else { throw invalid(text) }

        if t.isASCIIDigits {
            let port = try parsePort(t)
            return [
                ListenAddress(host: "0.0.0.0", port: port, family: .ipv4),
                ListenAddress(host: "::", port: port, family: .ipv6),
            ]
        }

        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]") else { throw invalid(text) }
            let hostText = t[t.index(after: t.startIndex)..<close]
            let rest = t[t.index(after: close)...]
            guard rest.hasPrefix(":") else { throw invalid(text) }
            let portText = rest.dropFirst()
            guard portText.isASCIIDigits, let host = normalise(hostText, family: AF_INET6) else {
                throw invalid(text)
            }
            return [ListenAddress(host: host, port: try parsePort(portText), family: .ipv6)]
        }

        guard let colon = t.lastIndex(of: ":") else { throw invalid(text) }
        let hostText = t[..<colon]
        let portText = t[t.index(after: colon)...]
        if hostText.contains(":") {
            throw UnitParseError(
                "invalid listen address '\(text)' (write IPv6 addresses in brackets, e.g. [::1]:8080)")
        }
        guard portText.isASCIIDigits else { throw invalid(text) }
        let host: String
        if hostText == "*" {
            host = "0.0.0.0"
        } else if let normalised = normalise(hostText, family: AF_INET) {
            host = normalised
        } else {
            throw invalid(text)
        }
        return [ListenAddress(host: host, port: try parsePort(portText), family: .ipv4)]
    }

    /// Parses a whole `listen` entry: an address as `parse` reads it,
    /// optionally followed by the word `tls` ("443 tls", "[::]:8443 tls").
    public static func parseEntry(_ text: String) throws(UnitParseError) -> (addresses: [ListenAddress], tls: Bool) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if words.count == 2, words[1] == "tls" { return (try parse(String(words[0])), true) }
        if words.count >= 2 {
            throw UnitParseError("invalid listen entry '\(text)' (write ADDRESS or 'ADDRESS tls', e.g. \"443 tls\")")
        }
        return (try parse(text), false)
    }

    /// Digits only (already checked); range errors quote the number without
    /// leading zeros so "070000" reads as the 70000 it means.
    private static func parsePort(_ digits: Substring) throws(UnitParseError) -> Int {
        let significant = digits.drop(while: { $0 == "0" })
        let shown = significant.isEmpty ? "0" : String(significant)
        guard significant.count <= 5, let port = Int(shown), (1...65535).contains(port) else {
            throw UnitParseError("port \(shown) is out of range (1-65535)")
        }
        return port
    }

    /// inet_pton validates exactly what bind(2) will accept; inet_ntop gives
    /// the canonical text so equal addresses hash equal.
    private static func normalise(_ host: Substring, family: Int32) -> String? {
        // An embedded NUL would end the C string early and hide trailing junk.
        guard !host.isEmpty, !host.utf8.contains(0) else { return nil }
        var address = [UInt8](repeating: 0, count: 16)  // fits in6_addr and in_addr
        let ok = String(host).withCString { inet_pton(family, $0, &address) }
        guard ok == 1 else { return nil }
        var text = [CChar](repeating: 0, count: 64)  // > INET6_ADDRSTRLEN
        let result = text.withUnsafeMutableBufferPointer { buffer -> String? in
            guard let base = buffer.baseAddress,
                  inet_ntop(family, address, base, socklen_t(buffer.count)) != nil
            else { return nil }
            return String(cString: base)
        }
        return result
    }
}
