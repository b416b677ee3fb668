import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// One HTTP/2 stream: one request and its response, as plain state of its
/// `HTTP2Connection` (no channel of its own: a channel per stream cost more
/// than the request). The request goes through the same head check, router
/// and responders as on HTTP/1.1 (`RequestDispatch`); the response comes
/// back through this object as the `ResponseTransport` of its
/// `ResponseWriter` (`HTTP2Stream+Responses`).
///
/// A stream has none of HTTP/1.1's connection state: no keep-alive, no
/// pipelining, no framing. What it has:
///
/// - backpressure: a responder that pauses reading makes the stream hold
///   the DATA that still comes and send no WINDOW_UPDATE, so the client
///   stops at the stream's window (`HTTP2InboundWindow`);
/// - the body limit: a declared length over it is refused on the head,
///   bytes beyond it end the request with 413;
/// - two timers on the worker's wheel: `timeouts.body` while waiting for
///   body bytes (408, as on HTTP/1.1), `timeouts.send` while a write makes
///   no progress (the stream is reset);
/// - a response that ends before the request: RST_STREAM(NO_ERROR), which
///   RFC 9113 §8.1 gives a server to stop a body it will not read.
final class HTTP2Stream: TimerWheel.Client {
    let id: HTTP2StreamID
    let connection: HTTP2Connection
    let worker: WorkerContext
    /// The library closed the stream (both sides ended, or a reset).
    private(set) var isClosed = false
    /// A prepared response's body, written with its end in one DATA frame.
    var lastBody: ByteBuffer?
    var exchange: Exchange?
    private var bodyLimit = Int.max
    private var bodyReceived = 0
    var reading = true
    /// The client ended its side (END_STREAM), whether or not the reader has seen it.
    private var clientEnded = false
    /// DATA (nil: the end) that came while the reader was paused, in order.
    private var held: [ByteBuffer?] = []
    private var window = HTTP2InboundWindow(target: HTTP2Pipeline.streamWindow)
    /// Waiting for body bytes since; nil when none are expected or reading is paused.
    var bodyWaitSince: NIODeadline?
    /// Writes with a promise not yet completed, and when one last completed.
    var pendingWrites = 0
    var lastWriteProgress: NIODeadline?
    private var armedSlot: Int64?
    private var resetSent = false

    init(id: HTTP2StreamID, connection: HTTP2Connection) {
        self.id = id
        self.connection = connection
        self.worker = connection.worker
    }

    // MARK: request

    func receiveHeaders(_ fields: HPACKHeaders, endStream: Bool) {
        if exchange == nil {
            begin(HTTP2RequestHead.make(fields, endStream: endStream))
        }
        // Trailers carry nothing we use; they end the request.
        if endStream { receiveEnd() }
        syncTimer()
    }

    /// The reader reads and nothing is held before what comes now.
    private var takesNow: Bool { reading && held.isEmpty }

    func receiveData(_ data: ByteBuffer, endStream: Bool) {
        if takesNow {
            deliver(data)
        } else if data.readableBytes > 0 {
            window.hold(data.readableBytes)
            held.append(data)
        }
        if endStream { receiveEnd() }
        syncTimer()
    }

    private func receiveEnd() {
        clientEnded = true
        if takesNow {
            endRequest()
        } else {
            held.append(nil)
        }
    }

    /// The reader sees the request's end.
    private func endRequest() {
        guard let exchange, !exchange.requestEnded else { return }
        exchange.requestEnded = true
        bodyWaitSince = nil
        exchange.sink.receiveEnd()
        if exchange.response.ended { retire(exchange) }
    }

    /// Hands what came while paused to the reader, as long as it reads.
    func releaseHeld() {
        while reading, !held.isEmpty {
            let next = held.removeFirst()
            guard let data = next else {
                endRequest()
                continue
            }
            deliver(data)
            if let increment = window.release(data.readableBytes) { sendWindowUpdate(increment) }
        }
    }

    /// The library's count of what the client may still send on this stream.
    func inboundWindowChanged(to size: Int) {
        if let increment = window.windowChanged(to: size) { sendWindowUpdate(increment) }
    }

    func initialWindowChanged(by delta: Int) {
        if let increment = window.initialWindowChanged(by: delta) { sendWindowUpdate(increment) }
    }

    private func sendWindowUpdate(_ increment: Int) {
        // A client that ended its side sends nothing more to make room for.
        guard !clientEnded, !isClosed else { return }
        connection.sendWindowUpdate(increment, on: id)
    }

    /// The stream closed: both sides ended, the client reset it, or the
    /// connection went away. A request cut short lets its responder go (an
    /// upload deletes its partial file) and is logged as nginx's 499.
    ///
    /// It closes inside the write of our last frame when the request had
    /// ended: that exchange is complete, its responder is left alone (a
    /// script may still be exiting). Once closed, the exchange is no longer
    /// this stream's: a responder's late end or abort writes and logs nothing.
    func closed() {
        guard !isClosed else { return }
        isClosed = true
        armedSlot = nil
        held.removeAll()
        guard let exchange else { return }
        self.exchange = nil
        let response = exchange.response
        if !(exchange.requestEnded && response.ended) {
            exchange.sink.abort()
        }
        if !response.ended {
            log(exchange, status: response.status.map { Int($0.code) } ?? 499, bytes: response.bodyBytesConfirmed)
        }
        retire(exchange)
    }

    /// The library refused a frame of ours (`HTTP2Connection.errorCaught`).
    func writeFailed() {
        guard !isClosed, !resetSent else { return }
        if let exchange, !exchange.response.ended {
            exchange.sink.abort()
            exchange.response.abort()
        } else {
            reset(.internalError)
        }
    }

    private func begin(_ head: HTTPRequestHead) {
        guard let origin = connection.origin else { return }
        let response = ResponseWriter(transport: self, eventLoop: worker.eventLoop, allocator: connection.allocator,
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

    private func deliver(_ buffer: ByteBuffer) {
        // After the response ended, what still comes is dropped: the stream is about to be reset.
        guard buffer.readableBytes > 0, let exchange, !exchange.requestEnded, !exchange.response.ended else { return }
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
        var own = connection.allocator.buffer(capacity: buffer.readableBytes)
        own.writeImmutableBuffer(buffer)
        exchange.sink.receive(own)
    }

    /// The exchange is over on both sides: its sink lets go of the writer
    /// (which holds this stream), and must not be aborted any more.
    func retire(_ exchange: Exchange) {
        exchange.sink = DiscardingBodySink.shared
        bodyWaitSince = nil
    }

    // MARK: timers

    func syncTimer() {
        guard let deadline = TimerWheel.earliest(bodyDeadline, sendDeadline), !isClosed else { return }
        worker.timers.arm(self, at: deadline, unlessArmedBefore: &armedSlot)
    }

    private var bodyDeadline: NIODeadline? { bodyWaitSince.map { $0 + TimeAmount(worker.timeouts.body) } }
    private var sendDeadline: NIODeadline? {
        pendingWrites > 0 ? lastWriteProgress.map { $0 + TimeAmount(worker.timeouts.send) } : nil
    }

    func timerSlotCame(_ slot: Int64, now: NIODeadline) {
        guard slot == armedSlot else { return }
        armedSlot = nil
        guard !isClosed, let exchange else { return }
        if let send = sendDeadline, send <= now {
            worker.logger.info("\(connection.remoteIP) took no data on an HTTP/2 stream for \(worker.timeouts.send.components.seconds)s: stream reset")
            exchange.sink.abort()
            exchange.response.abort()
            reset(.cancel)
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

    /// RST_STREAM: the library closes the stream (`closed`, from the connection). Once.
    func reset(_ code: HTTP2ErrorCode) {
        guard !isClosed, !resetSent else { return }
        resetSent = true
        connection.write(HTTP2Frame(streamID: id, payload: .rstStream(code)), promise: nil)
        connection.flushSoon()
    }
}
