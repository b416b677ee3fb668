import Glibc
import NIOCore
import NIOHTTP1
import SwerveConfig

/// One HTTP/1.1 connection, behind NIOHTTP1's request decoder (llhttp):
/// turns request parts into requests for the router and responders, and
/// their responses back into bytes. Every decision about the connection's
/// life — keep-alive, timeouts, pipelining, drain, closing — is the
/// `ConnectionStateMachine`'s; this handler carries its actions out and is
/// the `ResponseTransport` its requests' writers talk to.
final class HTTP1Connection: ChannelInboundHandler, RemovableChannelHandler, ResponseTransport, TimerWheel.Client {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = IOData

    private let worker: WorkerContext
    private let listener: ListenAddress
    private var context: ChannelHandlerContext?
    private var machine: ConnectionStateMachine
    private var exchange: HTTP1Exchange?
    /// Parts of pipelined requests held until the response in flight ends.
    private var held: [HeldPart] = []
    /// Read once per connection: the channel's getters take a lock.
    private var remoteAddress: SocketAddress?
    private var localAddress: SocketAddress?
    private var reading = true
    /// The timer wheel's slot this connection waits in (its earliest deadline).
    private var armedSlot: Int64?
    /// Bytes of responses in our buffers at the last send-timer tick.
    private var bufferedAtSendTick = 0
    /// The read being decoded, and one that arrived while a request was under
    /// way: a parser error then knows what the client sent.
    private var currentRead: ByteBuffer?
    private var pipelinedRead: ByteBuffer?

    init(worker: WorkerContext, listener: ListenAddress) {
        self.worker = worker
        self.listener = listener
        let timeouts = worker.timeouts
        machine = ConnectionStateMachine(timeouts: .init(
            header: TimeAmount(timeouts.header), body: TimeAmount(timeouts.body),
            keepAlive: TimeAmount(timeouts.keepalive), send: TimeAmount(timeouts.send)))
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        worker.connectionClosed()
    }

    func channelActive(context: ChannelHandlerContext) {
        remoteAddress = context.channel.remoteAddress
        localAddress = context.channel.localAddress
        worker.track(self)
        machine.connected(now: worker.now())
        // Accepted just before the drain began: its first request is answered with Connection: close.
        if worker.isDraining { _ = machine.drain(now: worker.now()) }
        syncTimer()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        armedSlot = nil
        if let exchange {
            exchange.sink.abort()
            if !exchange.response.ended {
                // nginx's 499: the client closed the connection before the response ended.
                log(exchange, status: exchange.response.status.map { Int($0.code) } ?? 499,
                    bytes: exchange.response.bodyBytesConfirmed)
            }
            retire(exchange)
        }
        held = []
        machine.closed()
        worker.untrack(self)
        context.fireChannelInactive()
    }

    /// Called by `RequestByteObserver` before a read goes to the decoder.
    func readArrived(_ buffer: ByteBuffer) {
        currentRead = buffer
        machine.bytesArrived(now: worker.now())
        syncTimer()
    }

    /// …and after it: a read is kept only while a request is under way
    /// (pipelined bytes whose error may come later); an idle connection holds no buffer.
    func readDone() {
        if case .exchange = machine.phase { pipelinedRead = currentRead }
        currentRead = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data))
    }

    private func receive(_ part: HTTPServerRequestPart) {
        let now = worker.now()
        switch part {
        case .head(let head):
            switch machine.headReceived(keepAlive: head.isKeepAlive, now: now) {
            case .start: begin(head, now: now)
            case .queue: held.append(.part(part))
            default: break
            }
        case .body(let buffer):
            switch machine.bodyReceived(bytes: buffer.readableBytes, now: now) {
            case .deliver: exchange?.sink.receive(buffer)
            case .refuseTooLarge:
                guard let exchange else { break }
                exchange.sink.abort()
                exchange.response.closeAfterResponse()
                exchange.response.sendError(.payloadTooLarge)
            case .queue: held.append(.part(part))
            default: break
            }
        case .end:
            exchange?.requestEnded = true
            switch machine.endReceived(now: now) {
            case .deliver(let toSink):
                if toSink { exchange?.sink.receiveEnd() }
            case .deliverAndFinish(let toSink):
                if toSink { exchange?.sink.receiveEnd() }
                finishExchange(now: now)
            case .queue: held.append(.part(part))
            case .ignore: break
            }
        }
        syncReading()
        syncTimer()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch machine.inputClosed(now: worker.now()) {
        case .close:
            context.close(promise: nil)
        case .abortAndClose:
            context.close(promise: nil)  // channelInactive lets the responder go and logs 499
        case .closeAfterWrite:
            break  // the response's write closes the connection when it has left
        }
        syncTimer()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            // A reset (ECONNRESET) or another I/O error: the request in flight is
            // abandoned (logged as 499) when the channel goes inactive.
            context.close(promise: nil)
            return
        }
        let status: HTTPResponseStatus
        switch parserError {
        case .headerOverflow: status = .requestHeaderFieldsTooLarge
        case .invalidVersion: status = .httpVersionNotSupported  // "HTTP/2.0" on an HTTP/1 connection (nginx: 505)
        default: status = .badRequest
        }
        refuseMalformed(status, requestLine: RawRequestLine.extract(from: currentRead ?? pipelinedRead))
        pipelinedRead = nil
    }

    private func refuseMalformed(_ status: HTTPResponseStatus, requestLine: String?) {
        switch machine.parserError(status, now: worker.now()) {
        case .respond(let status):
            let exchange = makeExchange(HTTP1Exchange.placeholderHead())
            exchange.rawRequestLine = requestLine
            exchange.response.closeAfterResponse()
            exchange.response.sendError(status)
        case .abortAndRespond(let status):
            exchange?.sink.abort()
            exchange?.response.closeAfterResponse()
            exchange?.response.sendError(status)
        case .abortAndClose:
            exchange?.sink.abort()
            exchange?.response.abort()
        case .queue:
            held.append(.error(status, requestLine: requestLine))
        case .ignore:
            break
        }
        syncReading()
        syncTimer()
    }

    // MARK: requests

    private func makeExchange(_ head: HTTPRequestHead) -> HTTP1Exchange {
        let writer = ResponseWriter(transport: self, eventLoop: worker.eventLoop,
                                    allocator: context?.channel.allocator ?? ByteBufferAllocator(),
                                    isHead: head.method == .HEAD, started: worker.now())
        let exchange = HTTP1Exchange(head: head, response: writer)
        self.exchange = exchange
        return exchange
    }

    /// Checks the head, routes it and hands it to its responder.
    private func begin(_ head: HTTPRequestHead, now: NIODeadline) {
        pipelinedRead = nil
        let exchange = makeExchange(head)
        let response = exchange.response
        let check = RequestHeadCheck(head, maxHeadSize: worker.config.server.limits.maxHeaderSize)
        guard case .accept(let declared, let chunked, let expectsContinue) = check else {
            // Whatever body it has stays unread: the close lingers.
            machine.requestStarted(expectsBody: head.headers.contains(name: "content-length")
                                    || head.headers.contains(name: "transfer-encoding"),
                                   bodyLimit: 0, reads: false, now: now)
            if case .reject(let status, let close) = check {
                if close { response.closeAfterResponse() }
                response.sendError(status)
            }
            return
        }
        let expectsBody = RequestHeadCheck.hasBody(declaredLength: declared, chunked: chunked)
        exchange.awaitsContinue = expectsBody && expectsContinue
        machine.requestStarted(expectsBody: expectsBody, bodyLimit: .max, reads: false, now: now)

        let route: Route
        switch worker.router.route(target: head.uri, host: head.headers.first(name: "host"), listener: listener) {
        case .route(let found):
            route = found
        case .refused(let status, let site):
            if let site {
                response.errorPages = site.errorPages
                exchange.vhostName = site.vhost.logName
            }
            response.sendError(status)
            return
        }
        response.errorPages = route.site.errorPages
        exchange.vhostName = route.site.vhost.logName
        if let declared, declared > route.maxBodySize {
            // Refused on its head: no 100 Continue, and the unread body ends the connection.
            response.closeAfterResponse()
            response.sendError(.payloadTooLarge)
            return
        }
        var request = Request(head: head, target: route.target, site: route.site, routePrefix: route.prefix,
                              remoteAddress: remoteAddress, localAddress: localAddress)
        request.hasBody = expectsBody
        let sink = route.responder.respond(to: request, response: response)
        exchange.sink = sink
        guard expectsBody, !exchange.requestEnded else { return }
        machine.requestStarted(expectsBody: true, bodyLimit: route.maxBodySize, reads: sink.wantsBody, now: now)
        // A responder still deciding (a script looked up in the pool) sends
        // it itself, once it knows: a 404 must not follow a 100.
        if sink.wantsBody && !sink.decidesLater { sendContinue(response) }
    }

    /// Both the request and its response are complete: the next request, or wait.
    private func finishExchange(now: NIODeadline) {
        if let exchange { retire(exchange) }
        switch machine.next(now: now) {
        case .replayQueued:
            let parts = held
            held = []
            for part in parts {
                switch part {
                case .part(let part): receive(part)
                case .error(let status, let line): refuseMalformed(status, requestLine: line)
                }
            }
        case .wait:
            break
        case .closeLingering:
            closeLingering()
        }
    }

    /// The exchange is over: its sink lets go of the writer (which holds this
    /// connection), so neither keeps the other alive.
    private func retire(_ exchange: HTTP1Exchange) {
        exchange.sink = DiscardingBodySink.shared
        if self.exchange === exchange { self.exchange = nil }
    }

    /// SPEC §3's drain, for this connection.
    func drain() {
        if machine.drain(now: worker.now()) == .closeLingering { closeLingering() }
        syncTimer()
    }

    // MARK: ResponseTransport

    var isActive: Bool { context?.channel.isActive ?? false }

    func writeHead(_ response: ResponseWriter, status: HTTPResponseStatus, headers: HTTPHeaders) {
        guard let context, let exchange, exchange.response === response else { return }
        var keepAlive = machine.responseMayKeepAlive && !response.wantsClose
        // A client still waiting for 100 Continue never sends its body: the
        // connection cannot carry another request (as nginx does).
        if exchange.awaitsContinue && !exchange.requestEnded { keepAlive = false }
        exchange.framing = ResponseHeadEncoder.framing(status: status, headers: headers, isHTTP10: exchange.isHTTP10,
                                                       isHead: response.isHead, mayKeepAlive: &keepAlive)
        machine.responseHeadSent(keepAlive: keepAlive)
        var buffer = context.channel.allocator.buffer(capacity: 512)
        ResponseHeadEncoder.write(status: status, headers: headers, isHTTP10: exchange.isHTTP10, keepAlive: keepAlive,
                                  framing: exchange.framing, dateLine: worker.dates.dateLine, into: &buffer)
        exchange.unwritten = buffer
    }

    func writePrepared(_ response: ResponseWriter, status: HTTPResponseStatus, headers: [PreparedHeaders], body: ByteBuffer) {
        guard let context, let exchange, exchange.response === response else { return }
        var keepAlive = machine.responseMayKeepAlive && !response.wantsClose
        if exchange.awaitsContinue && !exchange.requestEnded { keepAlive = false }
        machine.responseHeadSent(keepAlive: keepAlive)
        var size = 64 + worker.dates.dateLine.utf8.count + (response.isHead ? 0 : body.readableBytes)
        for block in headers { size += block.http1.readableBytes }
        var buffer = context.channel.allocator.buffer(capacity: size)
        buffer.writeString(exchange.isHTTP10 ? "HTTP/1.0 " : "HTTP/1.1 ")
        ResponseHeadEncoder.writeStatus(status, into: &buffer)
        for block in headers { buffer.writeImmutableBuffer(block.http1) }
        buffer.writeStaticString("Server: swerve\r\n")
        buffer.writeString(worker.dates.dateLine)
        if !keepAlive {
            buffer.writeStaticString("Connection: close\r\n\r\n")
        } else if exchange.isHTTP10 {
            buffer.writeStaticString("Connection: keep-alive\r\n\r\n")
        } else {
            buffer.writeStaticString("\r\n")
        }
        if !response.isHead { buffer.writeImmutableBuffer(body) }
        exchange.unwritten = buffer
    }

    func writeBody(_ response: ResponseWriter, _ data: IOData, flush: Bool, promise: EventLoopPromise<Void>?) {
        guard let context, let exchange, exchange.response === response, !response.isHead else {
            promise?.succeed(())
            return
        }
        let count = data.readableBytes
        guard count > 0 else {
            promise?.succeed(())
            return
        }
        response.bodyBytesQueued += count
        promise?.futureResult.assumeIsolated().whenSuccess { response.bodyBytesConfirmed += count }
        var chunkHead: ByteBuffer?
        if exchange.framing == .chunked {
            var line = context.channel.allocator.buffer(capacity: 12)
            ResponseHeadEncoder.writeChunkHead(size: count, into: &line)
            chunkHead = line
        }
        // Small parts join the head: one write for a small response.
        if case .byteBuffer(var bytes) = data, promise == nil, !flush,
           (exchange.unwritten?.readableBytes ?? 0) + count <= Self.coalesceLimit {
            var pending = exchange.unwritten ?? context.channel.allocator.buffer(capacity: count + 16)
            exchange.unwritten = nil
            if var line = chunkHead { pending.writeBuffer(&line) }
            pending.writeBuffer(&bytes)
            if chunkHead != nil { pending.writeStaticString("\r\n") }
            exchange.unwritten = pending
            return
        }
        writeUnwritten(exchange, context)
        if let chunkHead { context.write(wrapOutboundOut(.byteBuffer(chunkHead)), promise: nil) }
        context.write(wrapOutboundOut(data), promise: promise)
        if chunkHead != nil { context.write(wrapOutboundOut(.byteBuffer(Self.crlf)), promise: nil) }
        if flush { context.flush() }
    }

    /// Parts up to this size are gathered with the head before a write.
    static let coalesceLimit = 16 * 1024
    static let crlf = ByteBuffer(staticString: "\r\n")
    static let lastChunk = ByteBuffer(staticString: "0\r\n\r\n")

    private func writeUnwritten(_ exchange: HTTP1Exchange, _ context: ChannelHandlerContext) {
        guard let pending = exchange.unwritten else { return }
        exchange.unwritten = nil
        context.write(wrapOutboundOut(.byteBuffer(pending)), promise: nil)
    }

    func flush() {
        guard let context, let exchange else { return }
        writeUnwritten(exchange, context)
        context.flush()
    }

    func writeEnd(_ response: ResponseWriter) {
        guard let context, let exchange, exchange.response === response else { return }
        var last = exchange.unwritten ?? context.channel.allocator.buffer(capacity: 0)
        exchange.unwritten = nil
        if exchange.framing == .chunked && !response.isHead {
            var terminator = Self.lastChunk
            last.writeBuffer(&terminator)
        }
        let status = response.status.map { Int($0.code) } ?? 0
        let now = worker.now()
        let action = machine.responseEnded(now: now)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(last)), promise: nil)
        // A small response usually leaves within the flush: settled at once,
        // without a promise. Else an empty write behind it says when it has left.
        let buffered = context.channel.isActive ? bufferedBytes(context) : 0
        if buffered == 0 {
            endWritten(exchange, status: status, action: action, succeeded: context.channel.isActive)
        } else {
            bufferedAtSendTick = buffered
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(Self.nothing)), promise: written)
            written.futureResult.assumeIsolated().whenComplete { [weak self] result in
                if case .success = result {
                    self?.endWritten(exchange, status: status, action: action, succeeded: true)
                } else {
                    self?.endWritten(exchange, status: status, action: action, succeeded: false)
                }
            }
        }
        switch action {
        case .finish:
            // After the write: a held pipelined request's answer must follow this one.
            finishExchange(now: now)
        case .closeAfterWrite:
            retire(exchange)
        case .drainRequestBody:
            break
        }
        syncReading()
        syncTimer()
    }

    static let nothing = ByteBuffer()

    /// The response's last bytes reached the socket (or the connection failed
    /// under them): log it with what left, then keep the connection or close it.
    private func endWritten(_ exchange: HTTP1Exchange, status: Int, action: ConnectionStateMachine.ResponseEndAction,
                            succeeded: Bool) {
        let response = exchange.response
        if succeeded { response.bodyBytesConfirmed = response.bodyBytesQueued }
        log(exchange, status: status, bytes: response.bodyBytesConfirmed)
        machine.responseHandedOver(now: worker.now())
        if case .closeAfterWrite(let linger) = action, let context {
            retire(exchange)
            if linger { closeLingering() } else { context.close(promise: nil) }
        }
        syncTimer()
    }

    func abort(_ response: ResponseWriter) {
        guard let context, let exchange, exchange.response === response else { return }
        let status = response.status.map { Int($0.code) } ?? 500
        writeUnwritten(exchange, context)
        machine.closed()
        // What was written goes out first: a head and part of a body, then the close.
        context.flush()
        context.close().assumeIsolated().whenComplete { [weak self] _ in
            self?.log(exchange, status: status, bytes: response.bodyBytesConfirmed)
        }
    }

    func setReading(_ enabled: Bool) {
        machine.readingPaused(!enabled, now: worker.now())
        syncReading()
        syncTimer()
    }

    func sendContinue(_ response: ResponseWriter) {
        guard let context, let exchange, exchange.response === response, exchange.awaitsContinue,
              !response.headSent, !exchange.requestEnded else { return }
        exchange.awaitsContinue = false
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(ResponseHeadEncoder.continueHead)), promise: nil)
    }

    /// As nginx's tcp_nopush: cork while a file is sent, so the head and the
    /// file leave in full segments; uncork when it is all written.
    func cork(_ enabled: Bool) {
        try? context?.channel.syncOptions?.setOption(Self.tcpCork, value: enabled ? 1 : 0)
    }

    private static let tcpCork = ChannelOptions.Types.SocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_CORK))

    // MARK: reading, timers, closing

    private func syncReading() {
        let wanted = machine.shouldRead
        guard wanted != reading, let channel = context?.channel else { return }
        reading = wanted
        try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: wanted)
        if wanted { channel.read() }
    }

    /// Armed lazily on the worker's timer wheel: moving the deadline later
    /// (every request on a busy keep-alive connection does) costs nothing;
    /// when the earlier slot comes, the connection arms again for the new one.
    private func syncTimer() {
        guard let deadline = machine.timer?.deadline, context != nil else { return }
        if let armedSlot, armedSlot <= TimerWheel.slot(of: deadline) { return }
        armedSlot = worker.timers.arm(self, at: deadline)
    }

    func timerSlotCame(_ slot: Int64, now: NIODeadline) {
        guard slot == armedSlot else { return }  // armed since for an earlier slot
        armedSlot = nil
        guard let timer = machine.timer, let context else { return }
        if now < timer.deadline {
            syncTimer()
            return
        }
        if timer.kind == .send {
            let buffered = bufferedBytes(context)
            if buffered == 0 {
                machine.responseHandedOver(now: now)  // handed over meanwhile
                syncTimer()
                return
            }
            if buffered < bufferedAtSendTick {
                bufferedAtSendTick = buffered  // the client is reading, slowly
                machine.sendProgressed(now: now)
                syncTimer()
                return
            }
            worker.logger.info("\(remoteAddress?.description ?? "a client") took no data for \(worker.timeouts.send.components.seconds)s: connection closed")
        }
        switch machine.timerFired(now: now) {
        case .respondTimeout:
            let exchange = self.exchange ?? makeExchange(HTTP1Exchange.placeholderHead())
            exchange.sink.abort()
            exchange.response.closeAfterResponse()
            exchange.response.sendError(.requestTimeout)
        case .abortExchange:
            exchange?.sink.abort()
            exchange?.response.abort()
        case .close:
            context.close(promise: nil)
        case .none:
            break
        }
        syncTimer()
    }

    private func bufferedBytes(_ context: ChannelHandlerContext) -> Int {
        (try? context.channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
    }

    /// Lingering close, as nginx and Apache: shut down our side (once what is
    /// written has left), then discard input until the client closes or the
    /// linger runs out, so unread request bytes never turn our close into a
    /// reset that destroys the response.
    private func closeLingering() {
        guard let context, context.channel.isActive else { return }
        context.close(mode: .output, promise: nil)
        syncReading()
        syncTimer()
    }

    // MARK: access log

    private func log(_ exchange: HTTP1Exchange, status: Int, bytes: Int) {
        guard let accessLog = worker.accessLog else { return }
        let head = exchange.head
        let elapsed = (worker.now() - exchange.response.started).nanoseconds / 1_000_000
        let entry = AccessLogEntry(
            remoteAddress: remoteAddress?.ipAddress ?? "-",
            method: head.method.rawValue,
            uri: head.uri,
            version: head.version.minor == 0 ? "HTTP/1.0" : "HTTP/1.1",
            status: status,
            bodyBytes: bytes,
            referer: head.headers.first(name: "referer"),
            userAgent: head.headers.first(name: "user-agent"),
            vhost: exchange.vhostName,
            milliseconds: Int(elapsed),
            requestLine: exchange.rawRequestLine)
        accessLog.append(entry, combinedTime: worker.dates.logDate, isoTime: worker.dates.isoDate)
    }
}
