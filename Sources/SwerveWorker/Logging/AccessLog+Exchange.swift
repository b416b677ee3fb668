import NIOCore
import NIOHTTP1

extension WorkerContext {
    /// The access-log line of one exchange, over HTTP/1.x or HTTP/2 (whose
    /// request line reads "HTTP/2.0", as nginx logs it).
    func logAccess(_ exchange: Exchange, remoteIP: String, tls: ConnectionTLS?, status: Int, bytes: Int) {
        guard let accessLog else { return }
        let head = exchange.head
        let elapsed = (now() - exchange.response.started).nanoseconds / 1_000_000
        let entry = AccessLogEntry(
            remoteAddress: remoteIP,
            method: head.method.rawValue,
            uri: head.uri,
            version: Self.versionText(head.version),
            status: status,
            bodyBytes: bytes,
            referer: head.headers.first(name: "referer"),
            userAgent: head.headers.first(name: "user-agent"),
            vhost: exchange.vhostName,
            milliseconds: Int(elapsed),
            requestLine: exchange.rawRequestLine,
            tls: tls?.facts)
        accessLog.append(entry, combinedTime: dates.logDate, isoTime: dates.isoDate)
    }

    package static func versionText(_ version: HTTPVersion) -> String {
        switch (version.major, version.minor) {
        case (1, 0): return "HTTP/1.0"
        case (2, _): return "HTTP/2.0"
        default: return "HTTP/1.1"
        }
    }
}
