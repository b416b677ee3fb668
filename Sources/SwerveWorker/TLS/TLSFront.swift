import NIOCore

/// The first handler on a TLS listener's connection: looks at the first
/// byte. A TLS handshake record (22) goes on to the SNI step and the TLS
/// handler, and this handler leaves the pipeline. Anything else is not
/// TLS: a plain-HTTP request gets 400 (as nginx's "The plain HTTP request
/// was sent to HTTPS port"), other bytes a close, each logged once at info.
final class TLSFront: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let worker: WorkerContext
    private let tls: ConnectionTLS
    /// Not TLS: the answer is out and the rest is discarded until the client closes.
    private var refused = false

    static let handshakeRecord: UInt8 = 22
    static let plainHTTPAnswer: String = {
        let body = "400 Bad Request: this port speaks HTTPS only.\n"
        return "HTTP/1.1 400 Bad Request\r\nServer: swerve\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
    }()

    init(worker: WorkerContext, tls: ConnectionTLS) {
        self.worker = worker
        self.tls = tls
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        tls.sawBytes = true
        if first == Self.handshakeRecord {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        refused = true
        tls.logged = true
        let peer = ConnectionTLS.peer(context.channel)
        if FirstBytes.looksLikeHTTP(buffer) {
            worker.logger.info("plain HTTP request from \(peer) on TLS port \(context.channel.localAddress?.port ?? 0): answered 400")
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: Self.plainHTTPAnswer)), promise: nil)
            // Lingering: our side ends, what the client still sends is dropped;
            // its FIN closes the connection (no half-closure on a TLS port),
            // and the connection's header timer bounds the wait for it.
            context.close(mode: .output, promise: nil)
        } else {
            worker.logger.info("\(peer) sent bytes that are not TLS to a TLS port: connection closed")
            context.close(promise: nil)
        }
    }
}

/// What the first bytes of a connection on a TLS port are.
package enum FirstBytes {
    /// An HTTP method's letters and a space: "GET ", "POST ", "PRI * HTTP/2.0".
    package static func looksLikeHTTP(_ buffer: ByteBuffer) -> Bool {
        let head = buffer.readableBytesView.prefix(16)
        guard let space = head.firstIndex(of: UInt8(ascii: " ")), space > head.startIndex else {
            return head.count < 16 && head.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        }
        return head[..<space].allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }
}
