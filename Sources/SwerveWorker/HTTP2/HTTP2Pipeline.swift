import NIOCore
import NIOHTTP1
import NIOHTTP2
import SwerveConfig

/// HTTP/2 (RFC 9113) on a TLS connection whose ALPN chose `h2` (SPEC §4).
/// Framing, HPACK, flow control and the protocol's abuse limits are
/// swift-nio-http2's; what is ours is configuration and the request path:
///
///     … TLSObserver → NIOHTTP2Handler → HTTP2Connection → NIOHTTP2ServerConnectionManagementHandler
///     each stream:  HTTP2FramePayloadToHTTP1ServerCodec → HTTP2Stream → router → responder
///
/// `HTTP2Connection` owns the connection's idle timeout and its drain;
/// NIO's connection management handler sends the drain's GOAWAYs. Each
/// stream is a child channel whose `HTTP2Stream` does what
/// `HTTP1Connection` does for one HTTP/1.1 request.
enum HTTP2Pipeline {
    static let protocolName = "h2"

    /// SETTINGS_MAX_CONCURRENT_STREAMS: browsers open about as many (nginx: 128).
    static let maxConcurrentStreams = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE: what a client may send on a stream
    /// before the stream's reader takes it. An upload whose disk is slow
    /// stops reading, so this bounds what a paused stream buffers.
    static let streamWindow = 256 << 10
    /// The connection's receive window, refilled as streams read.
    static let connectionWindow = 1 << 20

    /// SETTINGS_MAX_HEADER_LIST_SIZE is twice `max_header_size`: a header
    /// list over `max_header_size` (counted as for HTTP/1.1) gets 431 on its
    /// stream, as RFC 9113 §10.5.1 allows; one over the advertised limit
    /// breaks the protocol's contract and ends the connection (the library's
    /// COMPRESSION/PROTOCOL error with GOAWAY).
    static func connectionConfiguration(_ limits: Limits) -> NIOHTTP2Handler.ConnectionConfiguration {
        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
        configuration.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: min(2 * limits.maxHeaderSize, Int(Int32.max))),
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindow),
        ]
        configuration.targetWindowSize = connectionWindow
        // The library's defaults bound the rest: CONTINUATION floods
        // (`maximumSequentialContinuationFrames`), stream errors and other
        // "glitches", control frames, empty DATA frames.
        return configuration
    }

    /// Rapid reset (CVE-2023-44487): the library's limit, 200 resets a
    /// client causes in 30 s, ends the connection with ENHANCE_YOUR_CALM.
    static func streamConfiguration() -> NIOHTTP2Handler.StreamConfiguration {
        var configuration = NIOHTTP2Handler.StreamConfiguration()
        configuration.targetWindowSize = streamWindow
        return configuration
    }

    /// Adds HTTP/2 behind `TLSObserver`, on a channel whose handshake just completed.
    static func configure(_ channel: Channel, worker: WorkerContext, listener: ListenAddress,
                          tls: ConnectionTLS) throws {
        let pipeline = channel.pipeline.syncOperations
        let connection = HTTP2Connection(worker: worker, listener: listener, tls: tls)
        // No idle, age or keepalive timers of its own: the idle timeout is
        // `HTTP2Connection`'s (`timeouts.keepalive`); a drain is bounded by
        // the master's `shutdown_timeout`.
        let management = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            configuration: .init(maxIdleTime: nil, maxAge: nil, maxGraceTime: nil, keepalive: nil))
        let bound = NIOLoopBound(connection, eventLoop: channel.eventLoop)
        let events = StreamEvents(connection: bound, management: management.http2StreamDelegate)
        _ = try pipeline.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connectionConfiguration(worker.config.server.limits),
            streamConfiguration: streamConfiguration(), streamDelegate: events
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let streamPipeline = stream.pipeline.syncOperations
                try streamPipeline.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try streamPipeline.addHandler(HTTP2Stream(connection: bound.value))
            }
        }
        try pipeline.addHandler(connection)
        try pipeline.addHandler(management)
        // The handshake finished as the drain began.
        if worker.isDraining { connection.drain() }
    }

    /// Streams opening and closing, told to both the connection (idle
    /// timeout) and NIO's management handler (which streams a drain waits for).
    struct StreamEvents: NIOHTTP2StreamDelegate {
        let connection: NIOLoopBound<HTTP2Connection>
        let management: NIOHTTP2ServerConnectionManagementHandler.HTTP2StreamDelegate

        func streamCreated(_ id: HTTP2StreamID, channel: Channel) {
            management.streamCreated(id, channel: channel)
            connection.value.streamOpened(id)
        }

        func streamClosed(_ id: HTTP2StreamID, channel: Channel) {
            management.streamClosed(id, channel: channel)
            connection.value.streamClosed()
        }
    }
}
