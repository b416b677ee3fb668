import SwerveConfig

/// Host header → virtual host, per listening address, as nginx's server_name:
/// exact names first, then the longest matching `*.suffix`, then the
/// listener's default (the `default: true` vhost, else the first listed there).
public struct VHostTable: Sendable {
    private struct Listener: Sendable {
        var exact: [String: Int] = [:]
        /// Longest suffix first, so `*.a.example.com` beats `*.example.com`.
        var wildcards: [(suffix: String, index: Int)] = []
        var fallback: Int
    }

    private var listeners: [ListenAddress: Listener] = [:]

    public init(vhosts: [VirtualHost]) {
        for (index, vhost) in vhosts.enumerated() {
            for address in vhost.listen {
                var listener = listeners[address] ?? Listener(fallback: index)
                if vhost.isDefault, !(vhosts[listener.fallback].isDefault) { listener.fallback = index }
                for name in vhost.names {
                    switch name {
                    case .exact(let host): listener.exact[host] = listener.exact[host] ?? index
                    case .wildcard(let suffix): listener.wildcards.append((suffix, index))
                    }
                }
                listeners[address] = listener
            }
        }
        for key in listeners.keys {
            listeners[key]!.wildcards.sort { $0.suffix.count > $1.suffix.count }
        }
    }

    /// The index of the vhost serving `host` (a Host header value, port and all)
    /// on `listener`; nil only for an address no vhost listens on.
    public func vhostIndex(host: String?, listener: ListenAddress) -> Int? {
        guard let table = listeners[listener] else { return nil }
        guard let host, let name = Self.normalise(host) else { return table.fallback }
        if let index = table.exact[name] { return index }
        for (suffix, index) in table.wildcards where ServerName.wildcard(suffix: suffix).matches(name) {
            return index
        }
        return table.fallback
    }

    /// Lowercased, port and trailing dot removed; "[::1]:8080" → "[::1]".
    package static func normalise(_ host: String) -> String? {
        // Fast path, no allocation: already a lowercase name without port or trailing dot.
        if !host.isEmpty, host.utf8.last != UInt8(ascii: "."),
           host.utf8.allSatisfy({ ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) {
            return host
        }
        var name = Substring(host.lowercased())
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return nil }
            name = name[...close]
        } else if let colon = name.firstIndex(of: ":") {
            name = name[..<colon]
        }
        if name.hasSuffix(".") { name = name.dropLast() }
        return name.isEmpty ? nil : String(name)
    }
}
