import NIOCore
import NIOHTTP1

/// How a responder answers one request. A thin facade over the connection,
/// which adds `Date`, `Server` and `Connection`, drops bodies of HEAD
/// responses, logs the request and decides about keep-alive.
/// Use it on the connection's event loop only; calls after `end` are ignored.
public final class ResponseWriter {
    /// Strong on purpose: a weak load on every call costs more than keeping
    /// the handler alive until the responder lets go of its writer.
    private let connection: HTTPConnection?
    let exchange: HTTPConnection.Exchange

    init(connection: HTTPConnection, exchange: HTTPConnection.Exchange) {
        self.connection = connection
        self.exchange = exchange
    }

    public var eventLoop: EventLoop { exchange.eventLoop }
    public var allocator: ByteBufferAllocator { exchange.allocator }
    /// True once the head was written (a late error can then only close).
    public var headSent: Bool { exchange.status != nil }
    /// True once the response ended or the connection went away.
    public var isFinished: Bool { exchange.responseEnded || !(connection?.isActive ?? false) }

    public func sendHead(_ status: HTTPResponseStatus, headers: HTTPHeaders) {
        guard !isFinished, !headSent else { return }
        connection?.writeHead(exchange, status: status, headers: headers)
    }

    /// Writes a body part, flushed at `end` (the cheapest way for a body
    /// that is already complete).
    public func sendBody(_ buffer: ByteBuffer) {
        guard !isFinished, let connection else { return }
        connection.writeBody(exchange, .byteBuffer(buffer), flush: false, promise: nil)
    }

    /// Writes a body part as it is produced (a script's output), flushed now
    /// or by the next `flush`; `written` runs on the loop once it left or
    /// failed — the producer's cue to send more (backpressure from a slow client).
    public func streamBody(_ buffer: ByteBuffer, flush: Bool = true, written: @escaping (Bool) -> Void) {
        guard !isFinished, let connection else {
            written(false)
            return
        }
        let promise = eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { result in
            if case .success = result { written(true) } else { written(false) }
        }
        connection.writeBody(exchange, .byteBuffer(buffer), flush: flush, promise: promise)
    }

    /// Sends what was written without a flush.
    public func flush() {
        guard !isFinished else { return }
        connection?.flush()
    }

    /// Sends a file region with sendfile, in pieces of `sendfileChunk` (as
    /// nginx's sendfile_max_chunk), each confirmed when it reached the socket,
    /// so a download cut short is logged with what was sent. `handle` is
    /// closed when the last piece is written or fails.
    public func sendFile(_ region: FileRegion, handle: NIOFileHandle) {
        guard !isFinished, let connection else {
            try? handle.close()
            return
        }
        connection.cork(true)
        var start = region.readerIndex
        while start < region.endIndex {
            let end = min(start + Self.sendfileChunk, region.endIndex)
            let isLast = end == region.endIndex
            let promise = eventLoop.makePromise(of: Void.self)
            if isLast {
                promise.futureResult.assumeIsolated().whenComplete { [connection] _ in
                    connection.cork(false)
                    try? handle.close()
                }
            }
            connection.writeBody(exchange, .fileRegion(FileRegion(fileHandle: handle, readerIndex: start, endIndex: end)),
                                 flush: isLast, promise: promise)
            start = end
        }
    }

    static let sendfileChunk = 2 << 20

    /// `100 Continue` for a responder that decided late to read the body.
    public func continueIfExpected() {
        connection?.sendContinue(exchange)
    }

    public func end() {
        guard !exchange.responseEnded else { return }
        connection?.writeEnd(exchange)
    }

    /// A whole response at once: head, optional body (Content-Length set here), end.
    public func send(_ status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: String(body?.readableBytes ?? 0))
        sendHead(status, headers: headers)
        if let body, body.readableBytes > 0 { sendBody(body) }
        end()
    }

    /// An error response with the vhost's error page (or the built-in one).
    public func sendError(_ status: HTTPResponseStatus, headers: HTTPHeaders = [:]) {
        guard !isFinished else { return }
        if headSent {
            // Too late for a status: the only honest signal left is closing.
            connection?.abortResponse(exchange)
            return
        }
        let page = exchange.errorPages.page(for: status)
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: page.contentType)
        send(status, headers: headers, body: page.body)
    }

    /// Stops reading the request body until `resumeReading` (a responder
    /// whose disk is slower than the client applies backpressure this way).
    public func pauseReading() {
        connection?.setReading(false)
    }

    public func resumeReading() {
        connection?.setReading(true)
    }

    /// The response must end the connection (e.g. the body was not read).
    public func closeAfterResponse() {
        exchange.keepAlive = false
    }
}
