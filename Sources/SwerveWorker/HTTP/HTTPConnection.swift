import Glibc
import NIOCore
import NIOHTTP1
import SwerveConfig

/// One client connection: reads requests from NIOHTTP1 (one at a time —
/// `HTTPServerPipelineHandler` holds pipelined ones back until the previous
/// response ended, so responses stay in order), checks and routes each,
/// hands it to its route's `Responder`, and owns the connection's timers:
/// header (→ 408), body (→ 408) and keep-alive (→ close).
final class HTTPConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The state of the request in flight, shared with its `ResponseWriter`.
    final class Exchange {
        let head: HTTPRequestHead
        let started: NIODeadline
        let eventLoop: EventLoop
        let allocator: ByteBufferAllocator
        var errorPages: ErrorPages
        var vhostName = "-"
        var sink: RequestBodySink = DiscardingBodySink.shared
        var bodyLimit = Int.max
        var bodyReceived = 0
        var bodyOverLimit = false
        var expectsBody = false
        /// The client sent `Expect: 100-continue` and waits for our 100 before the body.
        var awaitsContinue = false
        var requestEnded = false
        var responseEnded = false
        var keepAlive: Bool
        var status: HTTPResponseStatus?
        /// Body bytes handed to NIO, and those known to have reached the socket
        /// (writes with a promise); the access log records what left.
        var bodyBytesQueued = 0
        var bodyBytesConfirmed = 0
        /// What the client sent as its request line, when it could not be parsed.
        var rawRequestLine: String?

        init(head: HTTPRequestHead, context: ChannelHandlerContext, errorPages: ErrorPages) {
            self.head = head
            self.started = .now()
            self.eventLoop = context.eventLoop
            self.allocator = context.channel.allocator
            self.errorPages = errorPages
            self.keepAlive = head.isKeepAlive
        }
    }

    private enum Phase {
        /// Between requests; `bytesSeen` once the next head has begun to arrive.
        case waiting(bytesSeen: Bool)
        case exchange(Exchange)
        /// The connection is being closed; input is ignored.
        case closing
    }

    /// `send`: a response is still in our buffers, waiting for the client to
    /// take it; the keep-alive (or the close) waits for it.
    private enum TimerKind { case header, body, keepalive, send }

    private let worker: WorkerContext
    private let listener: ListenAddress
    private var context: ChannelHandlerContext?
    /// Read once per connection: the channel's getters take a lock.
    private var remoteAddress: SocketAddress?
    private var localAddress: SocketAddress?
    private var phase = Phase.waiting(bytesSeen: false)
    /// Requests begun on this connection (0: a fresh connection).
    private var requestCount = 0
    private var timerKind: TimerKind?
    private var deadline = NIODeadline.distantFuture
    private var armedTask: Scheduled<Void>?
    private var armedAt: NIODeadline?
    /// Bytes of responses not yet handed to the socket when the send timer
    /// was armed: less at the next tick means the client is reading.
    private var bufferedAtSendTick = 0
    /// The request whose response's `.end` has not left our buffers yet (a
    /// slow client); nil once everything written was handed to the socket.
    private var responseInFlight: Int?
    /// The read being decoded, and one that arrived while a request was under way.
    private var currentRead: ByteBuffer?
    private var pipelinedRead: ByteBuffer?
    /// Reading is paused by a responder (backpressure): the body timeout waits.
    private var readingPaused = false
    /// The newest exchange, until it is over: its sink holds the writer, which
    /// holds this connection, so the link is cut when the exchange ends
    /// (else every upload or script request kept its connection alive).
    private var latest: Exchange?

    init(worker: WorkerContext, listener: ListenAddress) {
        self.worker = worker
        self.listener = listener
    }

    var isActive: Bool { context?.channel.isActive ?? false }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        remoteAddress = context.channel.remoteAddress
        localAddress = context.channel.localAddress
        worker.track(self)
        // A fresh connection gets `timeouts.header` for its first request, as nginx.
        schedule(.header, after: worker.timeouts.header)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        armedTask?.cancel()
        abandonExchange()
        if let latest { retire(latest) }
        phase = .closing
        worker.untrack(self)
        context.fireChannelInactive()
    }

    /// The connection ends with a request under way: its responder lets go
    /// (a script is killed, an upload's temporary file removed) and the request
    /// is logged. Once: the phase moves on.
    private func abandonExchange() {
        guard case .exchange(let exchange) = phase else { return }
        phase = .closing
        exchange.sink.abort()
        if !exchange.responseEnded {
            // nginx's 499: the client closed the connection before the response ended.
            exchange.responseEnded = true
            log(exchange, status: exchange.status.map { Int($0.code) } ?? 499, bytes: exchange.bodyBytesConfirmed)
        }
    }

    /// Called by `RequestByteObserver` before each read goes to the decoder:
    /// the first bytes after an idle keep-alive period switch to the header
    /// timeout. The read is kept while the decoder runs on it (a parser error
    /// then knows what the client sent), and past it while a request is under
    /// way (pipelined bytes whose error NIOHTTP1 holds back until the response
    /// ends); otherwise let go at once: an idle connection holds no buffer.
    func readArrived(_ buffer: ByteBuffer) {
        currentRead = buffer
        if case .waiting(bytesSeen: false) = phase {
            phase = .waiting(bytesSeen: true)
            if timerKind == .keepalive { schedule(.header, after: worker.timeouts.header) }
        }
    }

    func readDone() {
        if case .exchange = phase { pipelinedRead = currentRead }
        currentRead = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), phase) {
        case (.head(let head), .waiting):
            cancelTimer()
            begin(head, context: context)
        case (.body(let buffer), .exchange(let exchange)):
            receiveBody(buffer, exchange)
        case (.end, .exchange(let exchange)):
            exchange.requestEnded = true
            if timerKind == .body { cancelTimer() }
            if !exchange.bodyOverLimit { exchange.sink.receiveEnd() }
            if exchange.responseEnded { finish(exchange) }
        default:
            break  // closing, or parts of a request already refused
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // NIOHTTP1 holds parser errors back until the response in flight ended,
        // and closes the channel right after this returns: answer synchronously.
        if let parserError = error as? HTTPParserError {
            let status: HTTPResponseStatus = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            switch phase {
            case .waiting:
                let exchange = Exchange(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "-"),
                                        context: context, errorPages: ErrorPages())
                exchange.keepAlive = false
                exchange.rawRequestLine = RawRequestLine.extract(from: currentRead ?? pipelinedRead)
                pipelinedRead = nil
                phase = .exchange(exchange)
                latest = exchange
                // Queued behind whatever is still on its way (a large download is
                // finished first), then a graceful close: not a close under it.
                ResponseWriter(connection: self, exchange: exchange).sendError(status)
                return
            case .exchange(let exchange) where exchange.status == nil:
                exchange.keepAlive = false
                exchange.sink.abort()
                ResponseWriter(connection: self, exchange: exchange).sendError(status)
                return
            case .closing:
                return  // already answering and closing; the rest of the input changes nothing
            default:
                break
            }
        }
        // A reset (ECONNRESET) or a late parser error: the request in flight is
        // abandoned here, since channelInactive will find the phase closed.
        abandonExchange()
        phase = .closing
        context.close(promise: nil)
    }

    // MARK: requests

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        requestCount += 1
        let exchange = Exchange(head: head, context: context, errorPages: ErrorPages())
        phase = .exchange(exchange)
        latest = exchange
        let writer = ResponseWriter(connection: self, exchange: exchange)
        if worker.isDraining { exchange.keepAlive = false }

        let check = RequestHeadCheck(head, maxHeadSize: worker.config.server.limits.maxHeaderSize)
        guard case .accept(let declared, let chunked, let expectsContinue) = check else {
            if case .reject(let status, let close) = check {
                if close { exchange.keepAlive = false }
                writer.sendError(status)
            }
            return
        }
        exchange.expectsBody = RequestHeadCheck.hasBody(declaredLength: declared, chunked: chunked)
        exchange.awaitsContinue = exchange.expectsBody && expectsContinue

        let route: Route
        switch worker.router.route(target: head.uri, host: head.headers.first(name: "host"), listener: listener) {
        case .route(let found):
            route = found
        case .refused(let status, let site):
            if let site {
                exchange.errorPages = site.errorPages
                exchange.vhostName = site.vhost.logName
            }
            writer.sendError(status)
            return
        }
        exchange.errorPages = route.site.errorPages
        exchange.vhostName = route.site.vhost.logName
        exchange.bodyLimit = route.maxBodySize
        if let declared, declared > route.maxBodySize {
            // Refused on its head: no 100 Continue, and the unread body ends the connection.
            exchange.keepAlive = false
            writer.sendError(.payloadTooLarge)
            return
        }
        var request = Request(head: head, target: route.target, site: route.site, routePrefix: route.prefix,
                              remoteAddress: remoteAddress, localAddress: localAddress)
        request.hasBody = exchange.expectsBody
        exchange.sink = route.responder.respond(to: request, response: writer)
        guard exchange.expectsBody, !exchange.requestEnded else { return }
        // A responder still deciding (a script looked up in the pool) sends it
        // itself, once it knows: a 404 must not follow a 100.
        if exchange.sink.wantsBody && !exchange.sink.decidesLater { sendContinue(exchange) }
        if !readingPaused { schedule(.body, after: worker.timeouts.body) }
    }

    /// `100 Continue`, if the client waits for it and nothing was answered yet.
    func sendContinue(_ exchange: Exchange) {
        guard let context, exchange.awaitsContinue, exchange.status == nil, !exchange.requestEnded else { return }
        exchange.awaitsContinue = false
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: exchange.head.version, status: .continue))),
                              promise: nil)
    }

    private func receiveBody(_ buffer: ByteBuffer, _ exchange: Exchange) {
        exchange.bodyReceived += buffer.readableBytes
        if timerKind == .body || timerKind == nil, !exchange.requestEnded, !readingPaused {
            schedule(.body, after: worker.timeouts.body)
        }
        if exchange.bodyReceived > exchange.bodyLimit {
            if !exchange.bodyOverLimit {
                exchange.bodyOverLimit = true
                exchange.sink.abort()
                exchange.keepAlive = false
                ResponseWriter(connection: self, exchange: exchange).sendError(.payloadTooLarge)
            }
            return
        }
        if exchange.sink.wantsBody { exchange.sink.receive(buffer) }
    }

    /// Both the request and its response are complete: wait for the next one.
    private func finish(_ exchange: Exchange) {
        guard case .exchange(let current) = phase, current === exchange else { return }
        phase = .waiting(bytesSeen: false)
        retire(exchange)
        if let context, responseInFlight != nil {
            awaitSend(context)  // the response is still on its way: `responseHandedOver` follows
        } else {
            becomeIdle()
        }
    }

    /// The exchange is over: its sink lets go of the writer (and so of this
    /// connection); a responder still busy (a script finishing) keeps itself.
    private func retire(_ exchange: Exchange) {
        exchange.sink = DiscardingBodySink.shared
        if latest === exchange { latest = nil }
    }

    // MARK: writing (called by ResponseWriter)

    func writeHead(_ exchange: Exchange, status: HTTPResponseStatus, headers: HTTPHeaders) {
        guard let context else { return }
        let isHTTP10 = exchange.head.version.minor == 0
        if worker.isDraining { exchange.keepAlive = false }
        // An HTTP/1.0 client cannot take chunked bodies: without a length, closing ends the body.
        if isHTTP10 && !headers.contains(name: "content-length") && status.mayHaveResponseBody { exchange.keepAlive = false }
        // A client still waiting for 100 Continue never sends its body: the
        // connection cannot carry another request (as nginx does).
        if exchange.awaitsContinue && !exchange.requestEnded { exchange.keepAlive = false }
        // Appended to the responder's headers rather than put first: one array, no copy.
        var all = headers
        all.add(name: "Server", value: "swerve")
        all.add(name: "Date", value: worker.dates.httpDate)
        if !exchange.keepAlive {
            all.replaceOrAdd(name: "Connection", value: "close")
        } else if isHTTP10 {
            all.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        exchange.status = status
        let head = HTTPResponseHead(version: isHTTP10 ? .http1_0 : .http1_1, status: status, headers: all)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    func writeBody(_ exchange: Exchange, _ data: IOData, flush: Bool, promise: EventLoopPromise<Void>?) {
        guard let context, exchange.head.method != .HEAD else {
            promise?.succeed(())
            return
        }
        let count = data.readableBytes
        exchange.bodyBytesQueued += count
        promise?.futureResult.assumeIsolated().whenSuccess { exchange.bodyBytesConfirmed += count }
        if flush {
            context.writeAndFlush(wrapOutboundOut(.body(data)), promise: promise)
        } else {
            context.write(wrapOutboundOut(.body(data)), promise: promise)
        }
    }

    func flush() {
        context?.flush()
    }

    /// As nginx's tcp_nopush: cork while a file is sent, so the head and the
    /// file leave in full segments; uncork when it is all written.
    func cork(_ on: Bool) {
        try? context?.channel.syncOptions?.setOption(Self.tcpCork, value: on ? 1 : 0)
    }

    private static let tcpCork = ChannelOptions.Types.SocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_CORK))

    func writeEnd(_ exchange: Exchange) {
        guard let context, !exchange.responseEnded else { return }
        exchange.responseEnded = true
        // Draining began after the head went out: end the connection after this
        // response (allowed after any response) rather than close under it.
        if worker.isDraining { exchange.keepAlive = false }
        let status = exchange.status.map { Int($0.code) } ?? 0
        // Settle our state before writing `.end`: NIOHTTP1 delivers the next
        // pipelined request from inside that write.
        // Until the response has left our buffers (a large file to a slow
        // client can take minutes) the send timeout applies, and only then the
        // keep-alive timeout or the close: a keep-alive timer counted from here
        // would cut the download short. The write's promise says when; it is
        // usually fulfilled inside the flush itself, and then no timer or
        // buffer query is spent on it (this runs for every response).
        let request = requestCount
        responseInFlight = request
        if !exchange.keepAlive {
            phase = .closing
            cancelTimer()
            // Flush what is written first: for a response to no request (408 on a
            // partial head) NIOHTTP1's pipeline handler closes on the `.end` itself.
            context.flush()
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { [weak self] result in
                self?.logSent(exchange, status: status, result)
                self?.responseInFlight = nil
                self?.closeGracefully()
            }
            pipelinedRead = nil
            if responseInFlight == request { awaitSend(context) }
            return
        }
        if exchange.requestEnded {
            finish(exchange)
        } else if !exchange.sink.wantsBody {
            // The rest of an unread body is drained before the next request.
            schedule(.body, after: worker.timeouts.body)
        }
        // Also when the request's end is still to come: `finish` then waits for this.
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { [weak self] result in
            self?.logSent(exchange, status: status, result)
            if case .success = result { self?.responseHandedOver(request: request) }
        }
        // An error NIOHTTP1 held back was delivered inside that write; unless a
        // pipelined request began there, the read it came from is not needed.
        if case .exchange = phase {} else { pipelinedRead = nil }
        if responseInFlight == request, case .waiting = phase { awaitSend(context) }
    }

    private func bufferedBytes(_ context: ChannelHandlerContext) -> Int {
        (try? context.channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
    }

    private func awaitSend(_ context: ChannelHandlerContext) {
        bufferedAtSendTick = bufferedBytes(context)
        schedule(.send, after: worker.timeouts.send)
    }

    /// The last response left our buffers: the connection is idle from now.
    private func responseHandedOver(request: Int) {
        guard responseInFlight == request else { return }
        responseInFlight = nil
        // A pipelined request may have begun meanwhile: its own timers stand.
        guard request == requestCount else { return }
        becomeIdle()
    }

    /// Nothing left to send between requests: the keep-alive timeout runs (the
    /// header timeout once the next head has begun), or a draining worker closes.
    private func becomeIdle() {
        guard case .waiting(let bytesSeen) = phase else { return }
        if worker.isDraining {
            closeGracefully()
        } else if bytesSeen {
            schedule(.header, after: worker.timeouts.header)
        } else {
            schedule(.keepalive, after: worker.timeouts.keepalive)
        }
    }

    /// Backpressure from a responder. While reading is paused the body
    /// timeout does not run: it counts time spent waiting for the client
    /// (nginx's client_body_timeout), never the server's own slowness.
    func setReading(_ enabled: Bool) {
        guard let channel = context?.channel else { return }
        readingPaused = !enabled
        try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: enabled)
        if enabled {
            if case .exchange(let exchange) = phase, !exchange.requestEnded, exchange.sink.wantsBody {
                schedule(.body, after: worker.timeouts.body)
            }
            channel.read()
        } else if timerKind == .body {
            cancelTimer()
        }
    }

    /// The head went out but the response cannot be completed: close, so the
    /// client sees a truncated response rather than a wrong one.
    func abortResponse(_ exchange: Exchange) {
        exchange.responseEnded = true
        let status = exchange.status.map { Int($0.code) } ?? 500
        phase = .closing
        cancelTimer()
        // What was written goes out first: a head and part of a body, then the close.
        context?.flush()
        context?.close().assumeIsolated().whenComplete { [weak self] _ in
            self?.log(exchange, status: status, bytes: exchange.bodyBytesConfirmed)
        }
    }

    /// The worker drains (SPEC §3). An idle keep-alive connection is closed
    /// at once, cleanly; a fresh one still gets its first request (within the
    /// header timeout); a request under way is answered — every response from
    /// now on carries `Connection: close`, and the connection ends after it.
    func drain() {
        switch phase {
        case .waiting(bytesSeen: false) where requestCount > 0:
            closeGracefully()
        case .exchange(let exchange):
            exchange.keepAlive = false
        case .waiting, .closing:
            break
        }
    }

    // MARK: closing and timers

    /// Lingering close, as nginx and Apache: shut down our side, then discard
    /// input until the client closes or two seconds pass, so unread request
    /// bytes never turn our close into a reset that destroys the response.
    private func closeGracefully() {
        phase = .closing
        cancelTimer()
        guard let context, context.channel.isActive else { return }
        let channel = context.channel
        // NIO shuts the output down once what is written has left; a response
        // still on its way to a slow client gets it, within the send timeout.
        if bufferedBytes(context) > 0 { awaitSend(context) }
        context.close(mode: .output).assumeIsolated().whenComplete { [weak self] _ in
            if self?.timerKind == .send { self?.cancelTimer() }
            channel.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
                channel.close(promise: nil)
            }
        }
    }

    /// One deadline at a time, armed lazily: moving it later (every request
    /// on a busy keep-alive connection does) costs no scheduler work; the
    /// task already scheduled re-arms itself for the new deadline when it fires.
    private func schedule(_ kind: TimerKind, after duration: Duration) {
        timerKind = kind
        deadline = .now() + TimeAmount(duration)
        if let armedAt, armedAt <= deadline { return }
        armedTask?.cancel()
        arm(at: deadline)
    }

    private func cancelTimer() {
        timerKind = nil
    }

    private func arm(at when: NIODeadline) {
        guard let context else { return }
        armedAt = when
        armedTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: when) { [weak self] () -> Void in
            self?.timerTick()
        }
    }

    private func timerTick() {
        armedTask = nil
        armedAt = nil
        guard let kind = timerKind else { return }
        if NIODeadline.now() < deadline {
            arm(at: deadline)
            return
        }
        timerKind = nil
        timerFired(kind)
    }

    private func timerFired(_ kind: TimerKind) {
        guard let context else { return }
        if kind == .send {
            let buffered = bufferedBytes(context)
            if buffered > 0 && buffered < bufferedAtSendTick {
                awaitSend(context)  // the client is reading, slowly: give it another period
                return
            }
            if buffered > 0 {
                worker.logger.info("\(remoteAddress?.description ?? "a client") took no data for \(worker.timeouts.send.components.seconds)s: connection closed")
                phase = .closing
                context.close(promise: nil)
            } else {
                becomeIdle()  // handed over meanwhile
            }
            return
        }
        switch (kind, phase) {
        case (.header, .waiting(bytesSeen: true)):
            // A head begun but not finished in time: 408, then close.
            let exchange = Exchange(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "-"),
                                    context: context, errorPages: ErrorPages())
            exchange.keepAlive = false
            phase = .exchange(exchange)
            latest = exchange
            ResponseWriter(connection: self, exchange: exchange).sendError(.requestTimeout)
        case (.body, .exchange) where readingPaused:
            break  // the responder holds the body back: not the client's delay
        case (.body, .exchange(let exchange)) where !exchange.requestEnded:
            exchange.sink.abort()
            exchange.keepAlive = false
            if exchange.status == nil {
                ResponseWriter(connection: self, exchange: exchange).sendError(.requestTimeout)
            } else if exchange.responseEnded {
                phase = .closing
                context.close(promise: nil)
            } else {
                // A response under way (a script streams while it reads) cannot end honestly.
                abortResponse(exchange)
            }
        default:
            // An idle keep-alive connection, or a fresh one that never sent a byte.
            phase = .closing
            context.close(promise: nil)
        }
    }

    // MARK: access log

    /// The response's `.end` was written (all of it left) or failed (the
    /// client went away: only what is known to have left counts).
    private func logSent(_ exchange: Exchange, status: Int, _ result: Result<Void, Error>) {
        if case .success = result { exchange.bodyBytesConfirmed = exchange.bodyBytesQueued }
        log(exchange, status: status, bytes: exchange.bodyBytesConfirmed)
    }

    private func log(_ exchange: Exchange, status: Int, bytes: Int) {
        guard let accessLog = worker.accessLog else { return }
        let head = exchange.head
        let elapsed = (NIODeadline.now() - exchange.started).nanoseconds / 1_000_000
        let entry = AccessLogEntry(
            remoteAddress: remoteAddress?.ipAddress ?? "-",
            method: head.method.rawValue,
            uri: head.uri,
            version: "HTTP/\(head.version.major).\(head.version.minor)",
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

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
