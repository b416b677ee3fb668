import NIOCore
import NIOSSL

/// What one TLS connection negotiated, for its requests' access log lines
/// (`tls_version`, `sni`) and CGI variables (`HTTPS`, `SSL_PROTOCOL`).
/// Filled in by the SNI step and `TLSObserver`; event loop only.
package final class ConnectionTLS {
    /// The ClientHello's server name, if it sent one.
    var serverName: String?
    /// "TLSv1.3", once the handshake completed.
    var version: String?
    /// Bytes arrived before the handshake failed or stalled (a client that
    /// connects and leaves without a byte is not worth a log line).
    var sawBytes = false
    /// Its one info line (a refusal or a failed handshake) was written.
    var logged = false

    var facts: TLSFacts { TLSFacts(version: version ?? "", serverName: serverName) }

    package init() {}

    /// "127.0.0.1:51774", for log lines.
    static func peer(_ channel: Channel) -> String {
        guard let address = channel.remoteAddress, let ip = address.ipAddress else { return "a client" }
        return ip.contains(":") ? "[\(ip)]:\(address.port ?? 0)" : "\(ip):\(address.port ?? 0)"
    }

    static func name(_ version: TLSVersion?) -> String? {
        switch version {
        case .tlsv13: return "TLSv1.3"
        case .tlsv12: return "TLSv1.2"
        case .tlsv11: return "TLSv1.1"
        case .tlsv1: return "TLSv1"
        case nil: return nil
        }
    }
}

/// A request's view of its connection's TLS.
public struct TLSFacts: Sendable, Equatable {
    public var version: String
    public var serverName: String?

    public init(version: String, serverName: String?) {
        self.version = version
        self.serverName = serverName
    }
}
