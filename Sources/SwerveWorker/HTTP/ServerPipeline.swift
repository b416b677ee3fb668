import NIOCore
import NIOHTTP1
import SwerveConfig

/// The handlers of one accepted connection, front to back. On a plain
/// listener: the byte observer → NIOHTTP1's request decoder (llhttp; never
/// a parser of ours) with `max_header_size` as its limit → `HTTP1Connection`,
/// which answers, keeps pipelined requests in order and writes response
/// bytes itself. On a TLS listener, `TLSPipeline`'s handlers, and once the
/// handshake is done either those same HTTP/1.1 handlers or, when ALPN
/// chose `h2`, `HTTP2Pipeline`'s.
package enum ServerPipeline {
    package static func configure(_ channel: Channel, worker: WorkerContext, listener: ListenAddress) throws {
        // A client's FIN is an event (`inputClosed`), not a close: the answer
        // to a request it finished sending still goes out. Set here rather than
        // as a bootstrap child option, which costs a future chain per accept.
        // TLS listeners turn it off again (`TLSPipeline`).
        try channel.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        if let contexts = worker.tls, contexts.addresses.contains(listener) {
            try TLSPipeline.configure(channel, worker: worker, contexts: contexts, listener: listener) { channel, tls, alpn in
                if alpn == HTTP2Pipeline.protocolName {
                    try HTTP2Pipeline.configure(channel, worker: worker, listener: listener, tls: tls)
                } else {
                    try addHTTP1(channel, worker: worker, listener: listener, tls: tls)
                }
            }
        } else {
            try addHTTP1(channel, worker: worker, listener: listener, tls: nil)
        }
        // Counted from accept until the handler that counts it (`HTTP1Connection`
        // on a plain listener, `TLSObserver` on a TLS one) leaves the closed
        // pipeline, not from channelActive: a drain must not finish while an
        // accepted connection has yet to become active.
        worker.connectionOpened()
    }

    private static func addHTTP1(_ channel: Channel, worker: WorkerContext, listener: ListenAddress,
                                 tls: ConnectionTLS?) throws {
        let pipeline = channel.pipeline.syncOperations
        let connection = HTTP1Connection(worker: worker, listener: listener, tls: tls, countsConnection: tls == nil)
        var limits = NIOHTTPDecoderLimitConfiguration()
        // llhttp's own limit on header bytes; `RequestHeadCheck` adds the request line.
        limits.maxHeaderListSize = worker.config.server.limits.maxHeaderSize
        limits.maxHeaderFieldSize = worker.config.server.limits.maxHeaderSize
        try pipeline.addHandler(RequestByteObserver(connection: connection))
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(
            leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)))
        try pipeline.addHandler(connection)
    }
}
