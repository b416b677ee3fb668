import NIOCore
import NIOSSL
import NIOTLS
import SwerveConfig

/// The front of a TLS listener's connection (SPEC §2.1):
///
///     TLSFront → SNIHandler → (NIOSSLServerHandler) → TLSObserver → (HTTP/1.1 or HTTP/2)
///
/// `TLSFront` refuses what is not TLS; NIOTLS's `SNIHandler` reads the
/// ClientHello's server name and, once it has, puts the TLS handler of
/// that name's vhost in its own place (the default vhost's when the name is
/// unknown or absent). `TLSObserver` bounds the handshake by the header
/// timeout and, once it is done, has `afterHandshake` add the handlers of
/// the protocol ALPN chose.
enum TLSPipeline {
    static func configure(_ channel: Channel, worker: WorkerContext, contexts: TLSContexts,
                          listener: ListenAddress, afterHandshake: @escaping TLSObserver.AfterHandshake) throws {
        let pipeline = channel.pipeline.syncOperations
        // Under TLS a client's FIN, or its close_notify, ends the connection,
        // a response still being written included. Allowed half-closure,
        // NIOSSL 2.37 neither finishes its own close on the client's
        // close_notify nor closes on the FIN after it: every closed
        // connection sat in CLOSE-WAIT until NIOSSL's shutdown timeout.
        try channel.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: false)
        let tls = ConnectionTLS()
        let observer = TLSObserver(worker: worker, tls: tls, afterHandshake: afterHandshake)
        let sni = SNIHandler { [weak channel] result in
            guard let channel else { return worker.eventLoop.makeSucceededVoidFuture() }
            if case .hostname(let name) = result { tls.serverName = name }
            guard let context = contexts.context(serverName: tls.serverName, listener: listener) else {
                channel.close(promise: nil)
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            let handler = NIOSSLServerHandler(context: context)
            observer.handler = handler
            do {
                try channel.pipeline.syncOperations.addHandler(handler, position: .before(observer))
            } catch {
                channel.close(promise: nil)
            }
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        try pipeline.addHandler(TLSFront(worker: worker, tls: tls))
        try pipeline.addHandler(ByteToMessageHandler(sni))
        try pipeline.addHandler(observer)
    }
}
