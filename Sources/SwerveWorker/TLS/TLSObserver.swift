import NIOCore
import NIOSSL
import NIOTLS

/// Sits behind the TLS handler for the whole life of a TLS connection:
///
/// - bounds the handshake by the header timeout, from accept (a client that
///   connects and sends nothing, or half a ClientHello, is closed);
/// - once the handshake is done, notes what it negotiated and has the HTTP
///   handlers of the protocol ALPN chose added behind it (`afterHandshake`:
///   HTTP/2 for `h2`, HTTP/1.1 otherwise);
/// - counts the connection for `max_connections` and the drain, from
///   accept to close;
/// - turns TLS failures into one info line and a close, never an error
///   flood (a bad handshake is the client's problem, as in nginx's
///   info-level "SSL_do_handshake() failed"). A client that leaves without
///   TLS's close_notify (most do) is not an error at all.
final class TLSObserver: ChannelInboundHandler, RemovableChannelHandler, TimerWheel.Client {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    /// Adds the protocol's handlers behind this one; `alpn` is what was negotiated (nil: nothing).
    typealias AfterHandshake = (_ channel: Channel, _ tls: ConnectionTLS, _ alpn: String?) throws -> Void

    private let worker: WorkerContext
    private let tls: ConnectionTLS
    private let afterHandshake: AfterHandshake
    /// Set by the SNI step when it adds the TLS handler.
    weak var handler: NIOSSLServerHandler?
    private var handshakeDone = false
    private var context: ChannelHandlerContext?
    private var handshakeDeadline: NIODeadline?
    private var armedSlot: Int64?

    init(worker: WorkerContext, tls: ConnectionTLS, afterHandshake: @escaping AfterHandshake) {
        self.worker = worker
        self.tls = tls
        self.afterHandshake = afterHandshake
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let deadline = worker.now() + TimeAmount(worker.timeouts.header)
        handshakeDeadline = deadline
        armedSlot = worker.timers.arm(self, at: deadline)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        worker.connectionClosed()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let negotiated) = event {
            handshakeDone = true
            handshakeDeadline = nil
            tls.version = ConnectionTLS.name(handler?.tlsVersion)
            if negotiated == ALPNChallenge.protocolName {
                // RFC 8737 §3: a validator closes once the handshake is done; nothing to serve.
                context.close(promise: nil)
                return
            }
            do {
                try afterHandshake(context.channel, tls, negotiated)
            } catch {
                worker.logger.error("cannot set up \(negotiated ?? "http/1.1") for \(peer(context)): \(error)")
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The handshake's deadline came: a client still in the handshake (or
    /// one whose plain HTTP request `TLSFront` refused) is closed.
    func timerSlotCame(_ slot: Int64, now: NIODeadline) {
        guard slot == armedSlot else { return }
        armedSlot = nil
        guard let deadline = handshakeDeadline, let context else { return }
        if now < deadline {
            armedSlot = worker.timers.arm(self, at: deadline)
            return
        }
        handshakeDeadline = nil
        context.close(promise: nil)
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
        armedSlot = nil
        handshakeDeadline = nil
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
