import NIOCore
import NIOHTTP1
import SwerveConfig

/// The handlers of one accepted connection, front to back: on a TLS
/// listener `TLSPipeline`'s handlers, then on every listener the byte
/// observer → NIOHTTP1's request decoder (llhttp; never a parser of ours)
/// with `max_header_size` as its limit → `HTTP1Connection`, which answers,
/// keeps pipelined requests in order and writes response bytes itself.
package enum ServerPipeline {
    package static func configure(_ channel: Channel, worker: WorkerContext, listener: ListenAddress) throws {
        let pipeline = channel.pipeline.syncOperations
        // A client's FIN is an event (`inputClosed`), not a close: the answer
        // to a request it finished sending still goes out. Set here rather than
        // as a bootstrap child option, which costs a future chain per accept.
        // TLS listeners turn it off again (`TLSPipeline`).
        try channel.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        var tls: ConnectionTLS?
        if let contexts = worker.tls, contexts.addresses.contains(listener) {
            tls = try TLSPipeline.configure(channel, worker: worker, contexts: contexts, listener: listener)
        }
        let connection = HTTP1Connection(worker: worker, listener: listener, tls: tls)
        var limits = NIOHTTPDecoderLimitConfiguration()
        // llhttp's own limit on header bytes; `RequestHeadCheck` adds the request line.
        limits.maxHeaderListSize = worker.config.server.limits.maxHeaderSize
        limits.maxHeaderFieldSize = worker.config.server.limits.maxHeaderSize
        try pipeline.addHandler(RequestByteObserver(connection: connection))
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(
            leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)))
        try pipeline.addHandler(connection)
        // Counted from accept until the connection's handler leaves the closed
        // pipeline, not from channelActive: a drain must not finish while an
        // accepted connection has yet to become active.
        worker.connectionOpened()
    }
}
