import NIOCore
import NIOHTTP1
import NIOHTTP2
import SwerveConfig

/// HTTP/2 (RFC 9113) on a TLS connection whose ALPN chose `h2` (SPEC §4).
/// Framing, HPACK, flow-control accounting and the protocol's abuse limits
/// are swift-nio-http2's; what is ours is configuration and the request path:
///
///     … TLSObserver → TLSRecordCoalescer → NIOHTTP2Handler → HTTP2Connection → NIOHTTP2ServerConnectionManagementHandler
///                                                             └ each stream: HTTP2Stream → router → responder
///
/// NIOHTTP2's handler runs without its stream multiplexer: streams are
/// plain objects of `HTTP2Connection`, not child channels, because a
/// channel per stream (its pipeline, activation and teardown) cost more
/// than serving a small file. `HTTP2Connection` owns the connection's
/// streams, receive windows, idle timeout and drain; NIO's connection
/// management handler sends the drain's GOAWAYs.
package enum HTTP2Pipeline {
    static let protocolName = "h2"

    /// SETTINGS_MAX_CONCURRENT_STREAMS: browsers open about as many (nginx: 128).
    static let maxConcurrentStreams = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE: what a client may send on a stream
    /// before the stream's reader takes it. An upload whose disk is slow
    /// stops reading, so this bounds what a paused stream buffers.
    static let streamWindow = 256 << 10
    /// The connection's receive window, refilled as frames arrive (a
    /// paused stream is bounded by its own window).
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
        // The library's defaults bound the rest: CONTINUATION floods
        // (`maximumSequentialContinuationFrames`), stream errors and other
        // "glitches", control frames, empty DATA frames.
        return configuration
    }

    /// Rapid reset (CVE-2023-44487): the library's limit, 200 resets a
    /// client causes in 30 s, ends the connection with ENHANCE_YOUR_CALM.
    /// (The stream window is `HTTP2Connection`'s to refill.)
    static func streamConfiguration() -> NIOHTTP2Handler.StreamConfiguration {
        NIOHTTP2Handler.StreamConfiguration()
    }

    /// Adds HTTP/2 behind `TLSObserver`, on a channel whose handshake just completed.
    package static func configure(_ channel: Channel, worker: WorkerContext, listener: ListenAddress,
                          tls: ConnectionTLS) throws {
        let pipeline = channel.pipeline.syncOperations
        let connection = HTTP2Connection(worker: worker, listener: listener, tls: tls)
        // No idle, age or keepalive timers of its own: the idle timeout is
        // `HTTP2Connection`'s (`timeouts.keepalive`); a drain is bounded by
        // the master's `shutdown_timeout`. It counts streams from the
        // library's events, which `HTTP2Connection` passes on.
        let management = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            configuration: .init(maxIdleTime: nil, maxAge: nil, maxGraceTime: nil, keepalive: nil))
        try pipeline.addHandler(TLSRecordCoalescer())
        try pipeline.addHandler(NIOHTTP2Handler(mode: .server,
                                                connectionConfiguration: connectionConfiguration(worker.config.server.limits),
                                                streamConfiguration: streamConfiguration()))
        try pipeline.addHandler(connection)
        try pipeline.addHandler(management)
        // The handshake finished as the drain began.
        if worker.isDraining { connection.drain() }
    }
}
