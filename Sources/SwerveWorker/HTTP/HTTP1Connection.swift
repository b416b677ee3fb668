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
///
/// Three files: events and requests here, the response path in
/// `HTTP1Connection+Responses`, reading, timers and closing in
/// `HTTP1Connection+Timers` (hence members without `private`).
final class HTTP1Connection: ChannelInboundHandler, RemovableChannelHandler, DrainableConnection {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = IOData

    let worker: WorkerContext
    let listener: ListenAddress
    /// What TLS negotiated, on a TLS listener; nil on a plain one.
    let tls: ConnectionTLS?
    var context: ChannelHandlerContext?
    /// The channel's options, fetched once (each fetch boxes a new value).
    var options: NIOSynchronousChannelOptions?
    /// The vhost of this connection's last Host.
    var hostMemo: Router.HostMemo?
    var machine: ConnectionStateMachine
    var exchange: Exchange?
    /// Parts of pipelined requests held until the response in flight ends.
    var held: [HeldPart] = []
    /// Read once per connection: the channel's getters take a lock.
    var remoteAddress: SocketAddress?
    var remoteIPText: String?
    /// Where its requests come from, once the connection is active.
    var origin: RequestDispatch.Origin?
    /// On a TLS listener the connection is counted by `TLSObserver`, from accept.
    let countsConnection: Bool
    var reading = true
    /// The timer wheel's slot this connection waits in (its earliest deadline).
    var armedSlot: Int64?
    /// Bytes of responses in our buffers at the last send-timer tick.
    var bufferedAtSendTick = 0
    /// The read being decoded, and one that arrived while a request was under
    /// way: a parser error then knows what the client sent.
    var currentRead: ByteBuffer?
    var pipelinedRead: ByteBuffer?

    init(worker: WorkerContext, listener: ListenAddress, tls: ConnectionTLS? = nil, countsConnection: Bool = true) {
        self.worker = worker
        self.listener = listener
        self.tls = tls
        self.countsConnection = countsConnection
        let timeouts = worker.timeouts
        machine = ConnectionStateMachine(timeouts: .init(
            header: TimeAmount(timeouts.header), body: TimeAmount(timeouts.body),
            keepAlive: TimeAmount(timeouts.keepalive), send: TimeAmount(timeouts.send)))
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        options = context.channel.syncOptions
        // Added after a TLS handshake, to a channel already active.
        if context.channel.isActive { becameActive(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        options = nil
        if countsConnection { worker.connectionClosed() }
    }

    func channelActive(context: ChannelHandlerContext) {
        becameActive(context)
        context.fireChannelActive()
    }

    private func becameActive(_ context: ChannelHandlerContext) {
        guard origin == nil else { return }
        remoteAddress = context.channel.remoteAddress
        origin = RequestDispatch.Origin(worker: worker, listener: listener, tls: tls, remoteAddress: remoteAddress,
                                        localAddress: context.channel.localAddress)
        worker.track(self)
        machine.connected(now: worker.now())
        // Accepted just before the drain began: its first request is answered with Connection: close.
        if worker.isDraining { _ = machine.drain(now: worker.now()) }
        syncTimer()
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

    func receive(_ part: HTTPServerRequestPart) {
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

    func refuseMalformed(_ status: HTTPResponseStatus, requestLine: String?) {
        switch machine.parserError(status, now: worker.now()) {
        case .respond(let status):
            let exchange = makeExchange(Exchange.placeholderHead())
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

    func makeExchange(_ head: HTTPRequestHead) -> Exchange {
        let writer = ResponseWriter(transport: self, eventLoop: worker.eventLoop,
                                    allocator: context?.channel.allocator ?? ByteBufferAllocator(),
                                    isHead: head.method == .HEAD, started: worker.now())
        let exchange = Exchange(head: head, response: writer)
        self.exchange = exchange
        return exchange
    }

    /// Checks the head, routes it and hands it to its responder.
    func begin(_ head: HTTPRequestHead, now: NIODeadline) {
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
        guard let origin,
              case .responding(let bodyLimit) = RequestDispatch.start(exchange, declaredLength: declared, hasBody: expectsBody,
                                                                      from: origin, memo: &hostMemo)
        else { return }
        let sink = exchange.sink
        guard expectsBody, !exchange.requestEnded else { return }
        machine.requestStarted(expectsBody: true, bodyLimit: bodyLimit, reads: sink.wantsBody, now: now)
        // A responder still deciding (a script looked up in the pool) sends
        // it itself, once it knows: a 404 must not follow a 100.
        if sink.wantsBody && !sink.decidesLater { sendContinue(response) }
    }

    /// Both the request and its response are complete: the next request, or wait.
    func finishExchange(now: NIODeadline) {
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
    func retire(_ exchange: Exchange) {
        exchange.sink = DiscardingBodySink.shared
        if self.exchange === exchange { self.exchange = nil }
    }

    /// SPEC §3's drain, for this connection.
    func drain() {
        if machine.drain(now: worker.now()) == .closeLingering { closeLingering() }
        syncTimer()
    }
}
