import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// How a request's writer reaches the wire on HTTP/2: HEADERS and DATA
/// frames for this stream, written through its connection to NIOHTTP2's
/// handler; HPACK, flow control and frame sizes stay the library's.
/// Response headers go out as lower-case fields made once per cached file
/// (`PreparedHeaders.http2`), not converted from `HTTPHeaders` per
/// response, and a prepared body leaves in one DATA frame with END_STREAM.
/// No `Connection` header and no framing of ours; `date`, `server` and
/// HSTS as on HTTP/1.1.
extension HTTP2Stream: ResponseTransport {
    var isActive: Bool { !isClosed && connection.isActive }

    /// No sendfile under TLS: files are read in chunks and written as DATA.
    var fileReader: NonBlockingFileIO? { worker.fileIO }

    private func isCurrent(_ response: ResponseWriter) -> Bool {
        exchange?.response === response
    }

    func writeHead(_ response: ResponseWriter, status: HTTPResponseStatus, headers: HTTPHeaders) {
        guard isCurrent(response) else { return }
        var fields = HPACKHeaders()
        fields.reserveCapacity(headers.count + 4)
        fields.add(name: ":status", value: HTTP2Fields.statusText(status))
        for (name, value) in headers where !HTTP2Fields.isConnectionSpecific(name) {
            fields.add(name: HTTP2Fields.lowercased(name), value: value)
        }
        addCommonFields(&fields)
        writeFrame(.headers(.init(headers: fields)), promise: nil)
    }

    func writePrepared(_ response: ResponseWriter, status: HTTPResponseStatus, headers: [PreparedHeaders], body: ByteBuffer) {
        guard isCurrent(response) else { return }
        var fields = HPACKHeaders()
        fields.reserveCapacity(headers.reduce(4) { $0 + $1.http2.count })
        fields.add(name: ":status", value: HTTP2Fields.statusText(status))
        for block in headers {
            for (name, value) in block.http2 { fields.add(name: name, value: value) }
        }
        addCommonFields(&fields)
        writeFrame(.headers(.init(headers: fields)), promise: nil)
        // With the end, in one DATA frame (`writeEnd`).
        if !response.isHead && body.readableBytes > 0 { lastBody = body }
    }

    private func addCommonFields(_ fields: inout HPACKHeaders) {
        fields.add(name: "date", value: worker.dates.httpDate)
        fields.add(name: "server", value: "swerve")
        if let hsts = exchange?.hsts { fields.add(name: Site.HSTS.name, value: hsts.value) }
    }

    private func writeFrame(_ payload: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?) {
        guard !isClosed else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        connection.write(HTTP2Frame(streamID: id, payload: payload), promise: promise)
    }

    func writeBody(_ response: ResponseWriter, _ data: IOData, flush: Bool, promise: EventLoopPromise<Void>?) {
        guard isCurrent(response), !response.isHead, data.readableBytes > 0 else {
            promise?.succeed(())
            return
        }
        let count = data.readableBytes
        response.bodyBytesQueued += count
        if let promise {
            watch(promise.futureResult) { if case .success = $0 { response.bodyBytesConfirmed += count } }
        }
        writeFrame(.data(.init(data: data)), promise: promise)
        if flush { connection.flushSoon() }
    }

    func flush() {
        connection.flushSoon()
    }

    func writeEnd(_ response: ResponseWriter) {
        guard let exchange, exchange.response === response else { return }
        let status = response.status.map { Int($0.code) } ?? 0
        let written = worker.eventLoop.makePromise(of: Void.self)
        let last = lastBody ?? Self.empty
        lastBody = nil
        writeFrame(.data(.init(data: .byteBuffer(last), endStream: true)), promise: written)
        connection.flushSoon()
        watch(written.futureResult) { [self] result in
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
                if case .success = result { reset(.noError) }
            }
        }
        if exchange.requestEnded { retire(exchange) }
        syncTimer()
    }

    /// The head went out but the response cannot be completed: the client
    /// sees the stream reset (CANCEL), never a short body taken for whole.
    func abort(_ response: ResponseWriter) {
        guard isCurrent(response), let exchange else { return }
        let status = response.status.map { Int($0.code) } ?? 500
        log(exchange, status: status, bytes: response.bodyBytesConfirmed)
        // A loop tick later: when the client's own RST_STREAM failed the
        // write that led here, the library has not yet said the stream
        // closed, and a reset must not answer a reset (RFC 9113 §5.4.2).
        worker.eventLoop.assumeIsolated().execute { [self] in reset(.cancel) }
    }

    func setReading(_ enabled: Bool) {
        guard enabled != reading, !isClosed else { return }
        reading = enabled
        if enabled { releaseHeld() }
        // A paused reader sets the pace, not the client.
        if let exchange, !exchange.requestEnded, !exchange.response.ended {
            bodyWaitSince = enabled ? worker.now() : nil
        }
        syncTimer()
    }

    func sendContinue(_ response: ResponseWriter) {
        guard let exchange, exchange.response === response, exchange.awaitsContinue,
              !response.headSent, !exchange.requestEnded else { return }
        exchange.awaitsContinue = false
        writeFrame(.headers(.init(headers: [":status": "100"])), promise: nil)
        connection.flushSoon()
    }

    /// Nothing to cork: DATA frames are sized by the library.
    func cork(_ enabled: Bool) {}

    static let empty = ByteBuffer()

    /// A write with a promise is outstanding until it completes: the send
    /// timer runs while any is, from the last one that completed. `then`
    /// runs in the same callback, after the count.
    private func watch(_ future: EventLoopFuture<Void>, then: @escaping (Result<Void, Error>) -> Void) {
        if pendingWrites == 0 { lastWriteProgress = worker.now() }
        pendingWrites += 1
        future.assumeIsolated().whenComplete { [self] result in
            pendingWrites -= 1
            lastWriteProgress = worker.now()
            then(result)
        }
        syncTimer()
    }

    func log(_ exchange: Exchange, status: Int, bytes: Int) {
        worker.logAccess(exchange, remoteIP: connection.remoteIP, tls: connection.tls, status: status, bytes: bytes)
    }
}
