import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// How a request's writer reaches the wire on HTTP/2: response parts to
/// NIOHTTP2's codec, which makes HEADERS and DATA frames (HPACK, flow
/// control and frame sizes are the library's). No `Connection` header and
/// no framing of ours; `Date`, `Server` and HSTS as on HTTP/1.1.
extension HTTP2Stream: ResponseTransport {
    var isActive: Bool { context?.channel.isActive ?? false }

    /// No sendfile under TLS: files are read in chunks and written as DATA.
    var fileReader: NonBlockingFileIO? { worker.fileIO }

    private func isCurrent(_ response: ResponseWriter) -> Bool {
        exchange?.response === response
    }

    func writeHead(_ response: ResponseWriter, status: HTTPResponseStatus, headers: HTTPHeaders) {
        guard let context, isCurrent(response) else { return }
        var headers = headers
        addCommonHeaders(&headers)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: Self.version, status: status, headers: headers))),
                      promise: nil)
    }

    func writePrepared(_ response: ResponseWriter, status: HTTPResponseStatus, headers: [PreparedHeaders], body: ByteBuffer) {
        guard let context, isCurrent(response) else { return }
        var all = HTTPHeaders()
        for block in headers { all.add(contentsOf: block.headers) }
        addCommonHeaders(&all)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: Self.version, status: status, headers: all))),
                      promise: nil)
        if !response.isHead && body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
    }

    static let version = HTTPVersion(major: 2, minor: 0)

    private func addCommonHeaders(_ headers: inout HTTPHeaders) {
        headers.add(name: "date", value: worker.dates.httpDate)
        headers.add(name: "server", value: "swerve")
        if let hsts = exchange?.hsts { headers.add(name: Site.HSTS.name, value: hsts.value) }
    }

    func writeBody(_ response: ResponseWriter, _ data: IOData, flush: Bool, promise: EventLoopPromise<Void>?) {
        guard let context, isCurrent(response), !response.isHead, data.readableBytes > 0 else {
            promise?.succeed(())
            return
        }
        let count = data.readableBytes
        response.bodyBytesQueued += count
        if let promise {
            watch(promise.futureResult)
            promise.futureResult.assumeIsolated().whenSuccess { response.bodyBytesConfirmed += count }
        }
        context.write(wrapOutboundOut(.body(data)), promise: promise)
        if flush { context.flush() }
    }

    func flush() {
        context?.flush()
    }

    func writeEnd(_ response: ResponseWriter) {
        guard let context, let exchange, exchange.response === response else { return }
        let status = response.status.map { Int($0.code) } ?? 0
        let written = context.eventLoop.makePromise(of: Void.self)
        watch(written.futureResult)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { [self] result in
            if case .success = result { response.bodyBytesConfirmed = response.bodyBytesQueued }
            log(exchange, status: status, bytes: response.bodyBytesConfirmed)
            // The answer is complete and has left, but the request is not (a
            // 413, a script that did not read its input): the client may stop
            // sending (RFC 9113 §8.1). Not before it has left: the reset would
            // overtake DATA still queued. (A GET's END_STREAM, read with its
            // HEADERS, has been handled by now.)
            if !exchange.requestEnded {
                exchange.sink.abort()
                retire(exchange)
                if case .success = result { resetStream(.noError) }
            }
        }
        if exchange.requestEnded { retire(exchange) }
        syncTimer()
    }

    /// The head went out but the response cannot be completed: the client
    /// sees the stream reset (CANCEL), never a short body taken for whole.
    func abort(_ response: ResponseWriter) {
        guard let context, isCurrent(response), let exchange else { return }
        let status = response.status.map { Int($0.code) } ?? 500
        context.flush()
        context.close(promise: nil)
        log(exchange, status: status, bytes: response.bodyBytesConfirmed)
    }

    func setReading(_ enabled: Bool) {
        guard enabled != reading, let context else { return }
        reading = enabled
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: enabled)
        if enabled { context.read() }
        // A paused reader sets the pace, not the client.
        if let exchange, !exchange.requestEnded, !exchange.response.ended {
            bodyWaitSince = enabled ? worker.now() : nil
        }
        syncTimer()
    }

    func sendContinue(_ response: ResponseWriter) {
        guard let context, let exchange, exchange.response === response, exchange.awaitsContinue,
              !response.headSent, !exchange.requestEnded else { return }
        exchange.awaitsContinue = false
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: Self.version, status: .continue))),
                              promise: nil)
    }

    /// Nothing to cork: DATA frames are sized by the library.
    func cork(_ enabled: Bool) {}

    /// RST_STREAM, written below the codec (which speaks only response parts).
    private func resetStream(_ code: HTTP2ErrorCode) {
        guard let codec = try? context?.pipeline.syncOperations.context(handlerType: HTTP2FramePayloadToHTTP1ServerCodec.self)
        else { return }
        codec.writeAndFlush(NIOAny(HTTP2Frame.FramePayload.rstStream(code)), promise: nil)
    }

    /// A write with a promise is outstanding until it completes: the send
    /// timer runs while any is, from the last one that completed.
    private func watch(_ future: EventLoopFuture<Void>) {
        if pendingWrites == 0 { lastWriteProgress = worker.now() }
        pendingWrites += 1
        future.assumeIsolated().whenComplete { [self] _ in
            pendingWrites -= 1
            lastWriteProgress = worker.now()
        }
        syncTimer()
    }

    func log(_ exchange: Exchange, status: Int, bytes: Int) {
        worker.logAccess(exchange, remoteIP: connection.remoteIP, tls: connection.tls, status: status, bytes: bytes)
    }
}
