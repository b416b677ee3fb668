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

    static func prefix(_ prefix: String, matches path: String) -> Bool {
        guard path.hasPrefix(prefix) else {
            // "/cgi-bin/" also covers "/cgi-bin" itself (it redirects there like a directory).
            return prefix.hasSuffix("/") && prefix.count > 1 && path == String(prefix.dropLast())
        }
        if path.count == prefix.count || prefix.hasSuffix("/") { return true }
        return path[path.index(path.startIndex, offsetBy: prefix.count)] == "/"
    }
}
