import NIOCore
import NIOSSL
import NIOTLS

/// Sits behind the TLS handler: notes what the handshake negotiated, and
/// turns TLS failures into one info line and a close, never an error
/// flood (a bad handshake is the client's problem, as in nginx's info-level
/// "SSL_do_handshake() failed"). A client that leaves without TLS's
/// close_notify (most do) is not an error at all.
final class TLSObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let worker: WorkerContext
    private let tls: ConnectionTLS
    /// Set by the SNI step when it adds the TLS handler.
    weak var handler: NIOSSLServerHandler?
    private var handshakeDone = false

    init(worker: WorkerContext, tls: ConnectionTLS) {
        self.worker = worker
        self.tls = tls
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            handshakeDone = true
            tls.version = ConnectionTLS.name(handler?.tlsVersion)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard error is NIOSSLError || error is BoringSSLError else {
            context.fireErrorCaught(error)
            return
        }
        if case NIOSSLError.uncleanShutdown = error {
            // The client closed TCP without close_notify: a normal end in HTTP/1.1.
            context.close(promise: nil)
            return
        }
        logOnce(handshakeDone
                ? "TLS error with \(peer(context)): \(error)"
                : "TLS handshake with \(peer(context))\(serverName) failed: \(error)")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !handshakeDone, tls.sawBytes {
            logOnce("TLS handshake with \(peer(context))\(serverName) did not complete (closed or timed out after \(worker.timeouts.header.components.seconds)s)")
        }
        context.fireChannelInactive()
    }

    private var serverName: String { tls.serverName.map { " for '\($0)'" } ?? "" }

    private func peer(_ context: ChannelHandlerContext) -> String { ConnectionTLS.peer(context.channel) }

    private func logOnce(_ message: String) {
        guard !tls.logged else { return }
        tls.logged = true
        worker.logger.info("\(message)")
    }
}
