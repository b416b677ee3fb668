import NIOCore
import NIOHPACK
import NIOHTTP2
import SwerveConfig

/// One HTTP/2 connection's life behind NIOHTTP2's handler: its streams,
/// what they share (where requests come from, the last host's vhost), the
/// receive windows it hands out, its idle timeout, its drain and its
/// protocol errors. NIOHTTP2 decodes, validates and accounts every frame
/// and keeps each stream's state machine; this handler sees the frames the
/// library accepted and routes them to plain `HTTP2Stream` objects.
///
/// - Streams: HEADERS open one (`HTTP2Stream`); the library's
///   `StreamClosedEvent` ends it, whatever closed it.
/// - Flow control: the library counts the windows and tells them
///   (`NIOHTTP2WindowUpdatedEvent`); WINDOW_UPDATEs are sent here, for the
///   connection as frames arrive and for a stream as its reader takes them
///   (`HTTP2InboundWindow`).
/// - Flushes: what streams write while frames are being read leaves with
///   the read's end, in as few TLS records as it fits.
/// - Idle: with no stream open for `timeouts.keepalive`, a GOAWAY and a
///   close, as nginx closes an idle HTTP/2 connection.
/// - Drain (SPEC §3): once no stream is open (or after a second),
///   `ChannelShouldQuiesceEvent` to NIO's management handler behind this
///   one, which sends GOAWAY, then after a PING round trip GOAWAY with the
///   last stream accepted, and closes once those streams are done.
/// - A client that breaks the protocol or floods it gets the library's
///   GOAWAY with the error, one info line, and the close.
final class HTTP2Connection: ChannelDuplexHandler, DrainableConnection, TimerWheel.Client {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    let worker: WorkerContext
    let listener: ListenAddress
    let tls: ConnectionTLS
    /// Where its streams' requests come from, once added.
    private(set) var origin: RequestDispatch.Origin?
    /// The vhost of the last Host any of its streams asked for.
    var hostMemo: Router.HostMemo?
    private(set) var remoteIP = "-"
    private(set) var allocator = ByteBufferAllocator()
    private(set) var isActive = false
    private var context: ChannelHandlerContext?
    private var streams = HTTP2StreamTable()
    private var window = HTTP2InboundWindow(target: HTTP2Pipeline.connectionWindow)
    private var reading = false
    private var flushPending = false
    /// Streams the library said it created and has not closed yet.
    private var openIDs: [HTTP2StreamID] = []
    private var lastStreamID = HTTP2StreamID(0)
    /// Since when no stream has been open; nil while one is.
    private var idleSince: NIODeadline?
    private var armedSlot: Int64?
    private var draining = false
    private var logged = false

    init(worker: WorkerContext, listener: ListenAddress, tls: ConnectionTLS) {
        self.worker = worker
        self.listener = listener
        self.tls = tls
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let channel = context.channel
        origin = RequestDispatch.Origin(worker: worker, listener: listener, tls: tls,
                                        remoteAddress: channel.remoteAddress, localAddress: channel.localAddress)
        remoteIP = channel.remoteAddress?.ipAddress ?? "-"
        allocator = channel.allocator
        isActive = channel.isActive
        worker.track(self)
        idleSince = worker.now()
        syncTimer()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        reading = false
        worker.untrack(self)
        idleSince = nil
        for stream in streams.removeAll() { stream.closed() }
        context.fireChannelInactive()
    }

    // MARK: frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        reading = true
        switch frame.payload {
        case .headers(let headers):
            let stream: HTTP2Stream
            if let open = streams[frame.streamID] {
                stream = open
            } else {
                stream = HTTP2Stream(id: frame.streamID, connection: self)
                streams.add(stream)
            }
            stream.receiveHeaders(headers.headers, endStream: headers.endStream)
        case .data(let data):
            guard case .byteBuffer(let buffer) = data.data else { return }
            streams[frame.streamID]?.receiveData(buffer, endStream: data.endStream)
        case .ping(_, ack: true):
            // The drain's PING round trip is the management handler's.
            context.fireChannelRead(data)
        default:
            // SETTINGS, PING, WINDOW_UPDATE, PRIORITY, RST_STREAM, GOAWAY:
            // the library acted on them; a reset closes its stream by event.
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if flushPending {
            flushPending = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let change as NIOHTTP2WindowUpdatedEvent:
            guard let size = change.inboundWindowSize else { return }
            if change.streamID == .rootStream {
                if let increment = window.windowChanged(to: size) { sendWindowUpdate(increment, on: .rootStream) }
            } else {
                streams[change.streamID]?.inboundWindowChanged(to: size)
            }
            return
        case let change as NIOHTTP2BulkStreamWindowChangeEvent:
            for stream in streams.all { stream.initialWindowChanged(by: change.delta) }
            return
        case let created as NIOHTTP2StreamCreatedEvent:
            streamOpened(created.streamID)
        case let closed as StreamClosedEvent:
            streams.remove(closed.streamID)?.closed()
            // A request the library refused (a malformed header block) is
            // reset without ever being opened: not counted, and not told to
            // the management handler, whose count it would break too.
            guard let index = openIDs.firstIndex(of: closed.streamID) else { return }
            openIDs.remove(at: index)
            streamClosed()
        default:
            break
        }
        // Stream counts and the drain's events, for the management handler.
        context.fireUserInboundEventTriggered(event)
    }

    /// A stream's frame, in order with every other stream's.
    func write(_ frame: HTTP2Frame, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(frame), promise: promise)
    }

    /// WINDOW_UPDATE for the connection (stream 0) or one of its streams.
    func sendWindowUpdate(_ increment: Int, on streamID: HTTP2StreamID) {
        write(HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: increment)), promise: nil)
        flushSoon()
    }

    /// Now, or with the end of the read under way (which NIOHTTP2 flushes
    /// itself): responses to a batch of requests leave together.
    func flushSoon() {
        if reading {
            flushPending = true
        } else {
            context?.flush()
        }
    }

    // MARK: streams

    private func streamOpened(_ id: HTTP2StreamID) {
        openIDs.append(id)
        if id > lastStreamID { lastStreamID = id }
        idleSince = nil
    }

    private func streamClosed() {
        guard openIDs.isEmpty else { return }
        if draining && !quiesced {
            // After NIOHTTP2 is done closing the stream.
            worker.eventLoop.assumeIsolated().execute { [self] in quiesce() }
        }
        idleSince = worker.now()
        syncTimer()
    }

    // MARK: timers: idle, and the drain's grace

    private var idleDeadline: NIODeadline? { idleSince.map { $0 + TimeAmount(worker.timeouts.keepalive) } }

    private func syncTimer() {
        guard let deadline = TimerWheel.earliest(idleDeadline, quiesceDeadline), context != nil else { return }
        worker.timers.arm(self, at: deadline, unlessArmedBefore: &armedSlot)
    }

    func timerSlotCame(_ slot: Int64, now: NIODeadline) {
        guard slot == armedSlot else { return }
        armedSlot = nil
        guard let context else { return }
        if let grace = quiesceDeadline, grace <= now {
            quiesce()
        }
        if let idle = idleDeadline, idle <= now {
            idleSince = nil
            let goAway = HTTP2Frame(streamID: .rootStream,
                                    payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil))
            context.writeAndFlush(wrapOutboundOut(goAway)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
            return
        }
        syncTimer()
    }

    // MARK: drain

    /// SPEC §3's drain for this connection. The GOAWAY goes out once the
    /// connection has served a stream and has none open, or after
    /// `drainGrace` at the latest. A GOAWAY while a client waits for a
    /// response, or before its first request (a connection whose handshake
    /// ended as the drain began, whose request is on its way), is correct
    /// HTTP/2, but Debian 12's curl (7.88) drops the connection on it with
    /// the response unread ("(18) Transferred a partial file"); so a client
    /// with one request at a time — curl, a script, a health check — gets
    /// its answer first, as HTTP/1.1 answers such a request with
    /// `Connection: close`. Streams the client opens meanwhile are served.
    func drain() {
        guard !draining, context != nil else { return }
        draining = true
        if openIDs.isEmpty && lastStreamID > 0 {
            quiesce()
        } else {
            quiesceDeadline = worker.now() + Self.drainGrace
            syncTimer()
        }
    }

    static let drainGrace = TimeAmount.seconds(1)
    private var quiesceDeadline: NIODeadline?
    private var quiesced = false

    /// NIO's management handler takes it from here: GOAWAY with the highest
    /// stream ID and a PING, then GOAWAY with the last stream accepted, then
    /// the close once those streams are done.
    private func quiesce() {
        quiesceDeadline = nil
        guard !quiesced, let context else { return }
        quiesced = true
        context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }

    // MARK: errors

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A frame of ours the library refused (a body that does not match
        // its content-length, a bad field): in this mode it resets nothing,
        // so the stream is reset here, or it would never end.
        if let refused = error as? NIOHTTP2Errors.StreamError {
            streams[refused.streamID]?.writeFailed()
            return
        }
        // A request's own error (a bad header block, a wrong content-length)
        // has reset that stream already; the connection goes on.
        guard Self.endsConnection(error) else { return }
        if !logged {
            logged = true
            worker.logger.info("HTTP/2 connection from \(ConnectionTLS.peer(context.channel)) closed: \(error)")
        }
        // The library has written its GOAWAY. Closing now, with the client's
        // frames still arriving, would make the kernel answer them with a
        // reset that destroys the GOAWAY before the client reads it: reading
        // (and discarding) goes on for a moment, then the close.
        guard !lingering else { return }
        lingering = true
        context.flush()
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.linger) { context.close(promise: nil) }
    }

    private var lingering = false
    static let linger = TimeAmount.milliseconds(500)

    /// Every close of the connection (ours, the management handler's after
    /// its last GOAWAY) flushes first: NIOHTTP2 holds frames written during
    /// a read until the read completes, and a GOAWAY held so would be lost.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        context.flush()
        context.close(mode: mode, promise: promise)
    }

    /// Connection errors after which the client is not worth waiting for:
    /// floods, garbage and a broken header compression context.
    static func endsConnection(_ error: Error) -> Bool {
        if error is any NIOHPACKError { return true }
        switch error {
        case is NIOHTTP2Errors.BadClientMagic, is NIOHTTP2Errors.MissingPreface, is NIOHTTP2Errors.UnableToParseFrame,
             is NIOHTTP2Errors.ExcessivelyLargeHeaderBlock, is NIOHTTP2Errors.ExcessiveContinuationFrames,
             is NIOHTTP2Errors.ExcessiveRSTFrames, is NIOHTTP2Errors.ExcessiveControlFrames,
             is NIOHTTP2Errors.ExcessiveStreamErrors, is NIOHTTP2Errors.ExcessiveNumberOfGlitches,
             is NIOHTTP2Errors.ExcessiveEmptyDataFrames, is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering,
             is NIOHTTP2Errors.FlowControlViolation, is NIOHTTP2Errors.ReceivedBadSettings:
            return true
        default:
            return false
        }
    }
}
