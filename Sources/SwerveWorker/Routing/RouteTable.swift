import SwerveConfig

/// A vhost's routes, longest path prefix first. A prefix matches on a
/// segment boundary: `/upload` matches `/upload` and `/upload/x`, not
/// `/uploads` (a prefix ending in "/" matches everything below it).
public struct RouteTable<Value: Sendable>: Sendable {
    private var entries: [(prefix: String, value: Value)]

    public init(_ entries: [(prefix: String, value: Value)]) {
        self.entries = entries.sorted { $0.prefix.count > $1.prefix.count }
    }

    public func match(_ path: String) -> (prefix: String, value: Value)? {
        entries.first { Self.prefix($0.prefix, matches: path) }
    }

    /// Compared as UTF-8 bytes: no character walking on the hot path.
    package static func prefix(_ prefix: String, matches path: String) -> Bool {
        let p = prefix.utf8, t = path.utf8
        let slash = UInt8(ascii: "/")
        guard t.starts(with: p) else {
            // "/cgi-bin/" also covers "/cgi-bin" itself (it redirects there like a directory).
            return p.count > 1 && p.last == slash && t.count == p.count - 1 && p.starts(with: t)
        }
        if t.count == p.count || p.last == slash { return true }
        return t[t.index(t.startIndex, offsetBy: p.count)] == slash
    }
}
