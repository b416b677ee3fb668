import NIOCore
import NIOHTTP1
import SwerveConfig

/// The handlers of one accepted connection, front to back:
/// byte observer → NIOHTTP1 codec (llhttp; never a parser of ours) with
/// `max_header_size` as its limit → pipelining assistance → `HTTPConnection`.
enum ServerPipeline {
    static func configure(_ channel: Channel, worker: WorkerContext, listener: ListenAddress) throws {
        let pipeline = channel.pipeline.syncOperations
        let connection = HTTPConnection(worker: worker, listener: listener)
        try pipeline.addHandler(RequestByteObserver(connection: connection))
        var limits = NIOHTTPDecoderLimitConfiguration()
        // Request line and headers together count against max_header_size (→ 431).
        limits.maxHeaderListSize = worker.config.server.limits.maxHeaderSize
        limits.maxHeaderFieldSize = worker.config.server.limits.maxHeaderSize
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: true,
            withErrorHandling: false,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits)
        try pipeline.addHandler(connection)
    }
}
