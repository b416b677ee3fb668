import NIOCore
import NIOHTTP1
import NIOHTTP2

/// One HTTP/2 stream: one request and its response, the request through
/// NIOHTTP2's HTTP/1-shaped codec. The request goes through the same head check,
/// router and responders as on HTTP/1.1 (`RequestDispatch`); the response
/// comes back through this handler as the `ResponseTransport` of its
/// `ResponseWriter` (`HTTP2Stream+Responses`).
///
/// A stream has none of HTTP/1.1's connection state: no keep-alive, no
/// pipelining, no framing. What it has:
///
/// - backpressure: a responder that pauses reading stops this stream
///   channel's reads, so NIOHTTP2 sends no WINDOW_UPDATE and the client
///   stops at the stream's window;
/// - the body limit: a declared length over it is refused on the head,
///   bytes beyond it end the request with 413;
/// - two timers on the worker's wheel: `timeouts.body` while waiting for
///   body bytes (408, as on HTTP/1.1), `timeouts.send` while a write makes
///   no progress (the stream is reset);
/// - a response that ends before the request: RST_STREAM(NO_ERROR), which
///   RFC 9113 §8.1 gives a server to stop a body it will not read.
final class HTTP2Stream: ChannelInboundHandler, TimerWheel.Client {
    typealias InboundIn = HTTPServerRequestPart

    let connection: HTTP2Connection
    let worker: WorkerContext
    var context: ChannelHandlerContext?
    /// NIOHTTP2's codec before this handler: responses are written below it.
    var codec: ChannelHandlerContext?
    /// A prepared response's body, written with its end in one DATA frame.
    var lastBody: ByteBuffer?
    var exchange: Exchange?
    private var bodyLimit = Int.max
    private var bodyReceived = 0
    var reading = true
    /// Waiting for body bytes since; nil when none are expected or reading is paused.
    var bodyWaitSince: NIODeadline?
    /// Writes with a promise not yet completed, and when one last completed.
    var pendingWrites = 0
    var lastWriteProgress: NIODeadline?
    private var armedSlot: Int64?

    init(connection: HTTP2Connection) {
        self.connection = connection
        self.worker = connection.worker
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        codec = try? context.pipeline.syncOperations.context(handlerType: HTTP2FramePayloadToHTTP1ServerCodec.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        codec = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            begin(head, context: context)
        case .body(let buffer):
            receiveBody(buffer)
        case .end:
            guard let exchange, !exchange.requestEnded else { return }
            exchange.requestEnded = true
            bodyWaitSince = nil
            exchange.sink.receiveEnd()
            if exchange.response.ended { retire(exchange) }
        }
        syncTimer()
    }

    /// The stream closed: both sides ended, the client reset it, or the
    /// connection went away. A request cut short lets its responder go (an
    /// upload deletes its partial file) and is logged as nginx's 499.
    func channelInactive(context: ChannelHandlerContext) {
        armedSlot = nil
        if let exchange {
            exchange.sink.abort()
            let response = exchange.response
            if !response.ended {
                log(exchange, status: response.status.map { Int($0.code) } ?? 499, bytes: response.bodyBytesConfirmed)
            }
            retire(exchange)
        }
        context.fireChannelInactive()
    }

    /// A stream error (a malformed header block, a body longer than its
    /// content-length): NIOHTTP2 has reset the stream; this closes its channel.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    // MARK: request

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard exchange == nil, let origin = connection.origin else { return }
        let response = ResponseWriter(transport: self, eventLoop: worker.eventLoop, allocator: context.channel.allocator,
                                      isHead: head.method == .HEAD, started: worker.now())
        let exchange = Exchange(head: head, response: response)
        self.exchange = exchange
        let check = RequestHeadCheck(head, maxHeadSize: worker.config.server.limits.maxHeaderSize)
        guard case .accept(let declared, let chunked, let expectsContinue) = check else {
            if case .reject(let status, _) = check { response.sendError(status) }
            return
        }
        let hasBody = RequestHeadCheck.hasBody(declaredLength: declared, chunked: chunked)
        exchange.awaitsContinue = hasBody && expectsContinue
        guard case .responding(let limit) = RequestDispatch.start(exchange, declaredLength: declared, hasBody: hasBody,
                                                                   from: origin, memo: &connection.hostMemo)
        else { return }
        bodyLimit = limit
        guard hasBody, !response.ended else { return }
        bodyWaitSince = worker.now()
        let sink = exchange.sink
        if sink.wantsBody && !sink.decidesLater { sendContinue(response) }
    }

    private func receiveBody(_ buffer: ByteBuffer) {
        // After the response ended, what still comes is dropped: the stream is about to be reset.
        guard let exchange, !exchange.requestEnded, !exchange.response.ended else { return }
        bodyReceived += buffer.readableBytes
        if bodyReceived > bodyLimit {
            // More than the route takes, with no Content-Length to refuse it by.
            exchange.sink.abort()
            exchange.sink = DiscardingBodySink.shared
            bodyWaitSince = nil
            exchange.response.sendError(.payloadTooLarge)
            return
        }
        if bodyWaitSince != nil { bodyWaitSince = worker.now() }
        // A DATA frame is a slice of the frame decoder's buffer, which a held
        // slice keeps whole: what a responder holds (an upload waiting on the
        // disk) is copied to its own size.
        var own = context?.channel.allocator.buffer(capacity: buffer.readableBytes) ?? ByteBuffer()
        own.writeImmutableBuffer(buffer)
        exchange.sink.receive(own)
    }

    /// The exchange is over on both sides: its sink lets go of the writer
    /// (which holds this handler), and must not be aborted any more.
    func retire(_ exchange: Exchange) {
        exchange.sink = DiscardingBodySink.shared
        bodyWaitSince = nil
    }

    // MARK: timers

    func syncTimer() {
        guard let deadline = TimerWheel.earliest(bodyDeadline, sendDeadline), context != nil else { return }
        worker.timers.arm(self, at: deadline, unlessArmedBefore: &armedSlot)
    }

    private var bodyDeadline: NIODeadline? { bodyWaitSince.map { $0 + TimeAmount(worker.timeouts.body) } }
    private var sendDeadline: NIODeadline? {
        pendingWrites > 0 ? lastWriteProgress.map { $0 + TimeAmount(worker.timeouts.send) } : nil
    }

    func timerSlotCame(_ slot: Int64, now: NIODeadline) {
        guard slot == armedSlot else { return }
        armedSlot = nil
        guard let context, let exchange else { return }
        if let send = sendDeadline, send <= now {
            worker.logger.info("\(connection.remoteIP) took no data on an HTTP/2 stream for \(worker.timeouts.send.components.seconds)s: stream reset")
            exchange.sink.abort()
            exchange.response.abort()
            context.close(promise: nil)
            return
        }
        if let body = bodyDeadline, body <= now {
            bodyWaitSince = nil
            exchange.sink.abort()
            exchange.sink = DiscardingBodySink.shared
            exchange.response.sendError(.requestTimeout)
            return
        }
        syncTimer()
    }
}
