import SwerveConfig

/// Host → virtual host, per listening address, as nginx's server_name:
/// exact names first, then the longest matching `*.suffix`, then the
/// listener's default (the `default: true` vhost, else the first listed
/// there). `Value` is what a vhost is to the caller: the `Router` keeps
/// `Site`s in it (so a lookup hands back the site, not an index into an
/// array kept elsewhere); `VHostTable` keeps indices, for tests.
public struct HostTable<Value: Sendable>: Sendable {
    private struct Listener: Sendable {
        var exact: [String: Value] = [:]
        /// Longest suffix first, so `*.a.example.com` beats `*.example.com`.
        var wildcards: [(suffix: String, value: Value)] = []
        var fallback: Value
        var fallbackIsDefault: Bool
    }

    private var listeners: [ListenAddress: Listener] = [:]

    /// `values[i]` stands for `vhosts[i]`.
    public init(vhosts: [VirtualHost], values: [Value]) {
        precondition(vhosts.count == values.count, "one value per vhost")
        for (vhost, value) in zip(vhosts, values) {
            for address in vhost.listen {
                var listener = listeners[address] ?? Listener(fallback: value, fallbackIsDefault: vhost.isDefault)
                if vhost.isDefault, !listener.fallbackIsDefault {
                    listener.fallback = value
                    listener.fallbackIsDefault = true
                }
                for name in vhost.names {
                    switch name {
                    case .exact(let host): listener.exact[host] = listener.exact[host] ?? value
                    case .wildcard(let suffix): listener.wildcards.append((suffix, value))
                    }
                }
                listeners[address] = listener
            }
        }
        for key in listeners.keys {
            listeners[key]!.wildcards.sort { $0.suffix.count > $1.suffix.count }
        }
    }

    /// The vhost serving `host` (a Host header value, port and all) on
    /// `listener`; nil only for an address no vhost listens on.
    public func lookup(host: String?, listener: ListenAddress) -> Value? {
        var memo: Memo?
        return lookup(host: host, listener: listener, memo: &memo)
    }

    /// The last Host a connection asked about, and the answer: a keep-alive
    /// client sends the same Host every time, and a connection has one
    /// listener, so the answer is reused after one string comparison.
    package struct Memo: Sendable {
        fileprivate var host: String?
        fileprivate var value: Value?
    }

    package func lookup(host: String?, listener: ListenAddress, memo: inout Memo?) -> Value? {
        if let memo, memo.host == host { return memo.value }
        let value = find(host: host, listener: listener)
        memo = Memo(host: host, value: value)
        return value
    }

    private func find(host: String?, listener: ListenAddress) -> Value? {
        guard let table = listeners[listener] else { return nil }
        guard let host, let name = Self.normalise(host) else { return table.fallback }
        if let value = table.exact[name] { return value }
        for (suffix, value) in table.wildcards where ServerName.wildcard(suffix: suffix).matches(name) {
            return value
        }
        return table.fallback
    }

    /// Lowercased, port and trailing dot removed; "[::1]:8080" → "[::1]".
    package static func normalise(_ host: String) -> String? {
        // Fast path, no allocation: a lowercase name, perhaps with a port
        // ("localhost:8080", "127.0.0.1:8080"), without a trailing dot.
        let bytes = host.utf8
        var end = bytes.endIndex
        var simple = !bytes.isEmpty
        for index in bytes.indices {
            let byte = bytes[index]
            if byte == UInt8(ascii: ":") {
                end = index
                simple = simple && bytes[bytes.index(after: index)...].allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
                break
            }
            let plain = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            if !plain {
                simple = false
                break
            }
        }
        if simple, end > bytes.startIndex, bytes[bytes.index(before: end)] != UInt8(ascii: ".") {
            return end == bytes.endIndex ? host : String(host[..<end])
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

/// Host → the index of a vhost in the config's list.
public typealias VHostTable = HostTable<Int>

extension HostTable where Value == Int {
    public init(vhosts: [VirtualHost]) {
        self.init(vhosts: vhosts, values: Array(vhosts.indices))
    }

    public func vhostIndex(host: String?, listener: ListenAddress) -> Int? {
        lookup(host: host, listener: listener)
    }
}
