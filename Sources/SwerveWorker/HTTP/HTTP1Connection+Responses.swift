import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix

/// How a request's writer reaches the wire on HTTP/1.1: heads encoded once,
/// one write per small response, the end settled without a promise when it
/// leaves at once, and the access-log line when it has.
extension HTTP1Connection: ResponseTransport {
    var isActive: Bool { context?.channel.isActive ?? false }

    /// Whether this response may leave the connection open for another request.
    private func mayKeepAlive(_ exchange: Exchange, _ response: ResponseWriter) -> Bool {
        // A client still waiting for 100 Continue never sends its body: the
        // connection cannot carry another request (as nginx does).
        machine.responseMayKeepAlive && !response.wantsClose && !(exchange.awaitsContinue && !exchange.requestEnded)
    }

    func writeHead(_ response: ResponseWriter, status: HTTPResponseStatus, headers: HTTPHeaders) {
        guard let context, let exchange, exchange.response === response else { return }
        var keepAlive = mayKeepAlive(exchange, response)
        exchange.framing = ResponseHeadEncoder.framing(status: status, headers: headers, isHTTP10: exchange.isHTTP10,
                                                       isHead: response.isHead, mayKeepAlive: &keepAlive)
        machine.responseHeadSent(keepAlive: keepAlive)
        var buffer = context.channel.allocator.buffer(capacity: 512)
        ResponseHeadEncoder.write(status: status, headers: headers, extraLine: exchange.hsts?.http1Line,
                                  isHTTP10: exchange.isHTTP10, keepAlive: keepAlive, framing: exchange.framing,
                                  dateLine: worker.dates.dateLine, into: &buffer)
        exchange.unwritten = buffer
    }

    var fileReader: NonBlockingFileIO? { tls == nil ? nil : worker.fileIO }

    func writePrepared(_ response: ResponseWriter, status: HTTPResponseStatus, headers: [PreparedHeaders], body: ByteBuffer) {
        guard let context, let exchange, exchange.response === response else { return }
        let keepAlive = mayKeepAlive(exchange, response)
        machine.responseHeadSent(keepAlive: keepAlive)
        let dateLine = worker.dates.dateLine
        var size = 64 + dateLine.utf8.count + (response.isHead ? 0 : body.readableBytes)
        for block in headers { size += block.http1.readableBytes }
        var buffer = context.channel.allocator.buffer(capacity: size)
        ResponseHeadEncoder.writeStatusLine(status, isHTTP10: exchange.isHTTP10, into: &buffer)
        for block in headers { buffer.writeImmutableBuffer(block.http1) }
        if let hsts = exchange.hsts { buffer.writeString(hsts.http1Line) }
        // Prepared headers carry their Content-Length: the framing is the length.
        ResponseHeadEncoder.writeEnd(isHTTP10: exchange.isHTTP10, keepAlive: keepAlive, framing: .length,
                                     dateLine: dateLine, into: &buffer)
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

    func writeUnwritten(_ exchange: Exchange, _ context: ChannelHandlerContext) {
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
        let buffered = context.channel.isActive ? bufferedBytes() : 0
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
    func endWritten(_ exchange: Exchange, status: Int, action: ConnectionStateMachine.ResponseEndAction,
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
        try? options?.setOption(Self.tcpCork, value: enabled ? 1 : 0)
    }

    private static let tcpCork = ChannelOptions.Types.SocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_CORK))

    // MARK: access log

    /// The client's address as the log writes it, formatted once per connection.
    var remoteIP: String {
        if let remoteIPText { return remoteIPText }
        let text = remoteAddress?.ipAddress ?? "-"
        remoteIPText = text
        return text
    }

    func log(_ exchange: Exchange, status: Int, bytes: Int) {
        worker.logAccess(exchange, remoteIP: remoteIP, tls: tls, status: status, bytes: bytes)
    }
}
