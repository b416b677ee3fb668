import NIOCore
import NIOHTTP1
import SwerveConfig

/// The handlers of one accepted connection, front to back:
/// byte observer → NIOHTTP1 codec (llhttp; never a parser of ours) with
/// `max_header_size` as its limit → pipelining assistance → `HTTPConnection`.
enum ServerPipeline {
    static func configure(_ channel: Channel, worker: WorkerContext, listener: ListenAddress) throws {
        // Counted from accept to close, not from channelActive: a drain must not
        // finish while an accepted connection has yet to become active.
        worker.connectionOpened()
        channel.closeFuture.whenComplete { _ in worker.connectionClosed() }
        let pipeline = channel.pipeline.syncOperations
        let connection = HTTPConnection(worker: worker, listener: listener)
        try pipeline.addHandler(RequestByteObserver(connection: connection))
        var limits = NIOHTTPDecoderLimitConfiguration()
        // Request line and headers together count against max_header_size (→ 431).
        limits.maxHeaderListSize = worker.config.server.limits.maxHeaderSize
        limits.maxHeaderFieldSize = worker.config.server.limits.maxHeaderSize
        // Outbound header validation is off: every header we send is built by
        // swerve from checked values (request targets passed llhttp, which
        // refuses CR, LF and spaces; CGI headers are checked by the CGI parser).
        // It cost a tenth of the CPU per small-file request.
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: true,
            withErrorHandling: false,
            withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits)
        try pipeline.addHandler(connection)
    }
}
