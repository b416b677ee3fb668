import NIOCore
import NIOHTTP1
import NIOPosix

/// Where a response's bytes go — an HTTP/1.1 connection today, an HTTP/2
/// stream later — so that responders never see the protocol. The transport
/// adds `Date`, `Server`, `Connection` and the framing; event loop only.
package protocol ResponseTransport: AnyObject {
    var isActive: Bool { get }
    func writeHead(_ response: ResponseWriter, status: HTTPResponseStatus, headers: HTTPHeaders)
    /// A whole response of prepared headers (which carry its Content-Length) and a body.
    func writePrepared(_ response: ResponseWriter, status: HTTPResponseStatus, headers: [PreparedHeaders], body: ByteBuffer)
    func writeBody(_ response: ResponseWriter, _ data: IOData, flush: Bool, promise: EventLoopPromise<Void>?)
    func flush()
    func writeEnd(_ response: ResponseWriter)
    /// The head went out but the response cannot be completed: the client
    /// must see it cut short, not a wrong one.
    func abort(_ response: ResponseWriter)
    func setReading(_ enabled: Bool)
    func sendContinue(_ response: ResponseWriter)
    func cork(_ enabled: Bool)
    /// Set when file regions cannot be written (TLS must see the bytes to
    /// encrypt them): files are then read in chunks on this.
    var fileReader: NonBlockingFileIO? { get }
}

/// How a responder answers one request; it owns the response's state
/// (status, bytes sent, end) and hands bytes to its transport. Use it on the
/// connection's event loop only; calls after `end` are ignored.
public final class ResponseWriter {
    /// Strong on purpose: the transport lives as long as a responder still
    /// writes (a script finishing after its client left).
    private let transport: ResponseTransport
    public let eventLoop: EventLoop
    public let allocator: ByteBufferAllocator
    /// The request is HEAD: heads as for GET, no body bytes.
    package let isHead: Bool
    package let started: NIODeadline

    /// The status sent, once the head is out.
    package private(set) var status: HTTPResponseStatus?
    package private(set) var ended = false
    /// Body bytes handed to the transport, and those known to have reached the
    /// socket (writes with a promise): the access log records what left.
    package var bodyBytesQueued = 0
    package var bodyBytesConfirmed = 0
    /// The responder wants the connection to end after this response.
    package private(set) var wantsClose = false
    /// Error pages of the vhost the request reached (built-in pages before routing).
    package var errorPages = ErrorPages()

    package init(transport: ResponseTransport, eventLoop: EventLoop, allocator: ByteBufferAllocator, isHead: Bool,
                 started: NIODeadline) {
        self.transport = transport
        self.eventLoop = eventLoop
        self.allocator = allocator
        self.isHead = isHead
        self.started = started
    }

    /// True once the head was written (a late error can then only close).
    public var headSent: Bool { status != nil }
    /// True once the response ended or the connection went away.
    public var isFinished: Bool { ended || !transport.isActive }

    public func sendHead(_ status: HTTPResponseStatus, headers: HTTPHeaders) {
        guard !isFinished, !headSent else { return }
        self.status = status
        transport.writeHead(self, status: status, headers: headers)
    }

    /// A whole response whose headers were prepared beforehand (they carry
    /// its Content-Length): a cached small file's answer, written as stored bytes.
    package func sendPrepared(_ status: HTTPResponseStatus, headers: [PreparedHeaders], body: ByteBuffer) {
        guard !isFinished, !headSent else { return }
        self.status = status
        if !isHead { bodyBytesQueued += body.readableBytes }
        transport.writePrepared(self, status: status, headers: headers, body: body)
        end()
    }

    /// Writes a body part, flushed at `end` (the cheapest way for a body
    /// that is already complete).
    public func sendBody(_ buffer: ByteBuffer) {
        guard !isFinished else { return }
        transport.writeBody(self, .byteBuffer(buffer), flush: false, promise: nil)
    }

    /// Writes a body part as it is produced (a script's output), flushed now
    /// or by the next `flush`; `written` runs on the loop once it left or
    /// failed — the producer's cue to send more (backpressure from a slow client).
    public func streamBody(_ buffer: ByteBuffer, flush: Bool = true, written: @escaping (Bool) -> Void) {
        guard !isFinished else {
            written(false)
            return
        }
        let promise = eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { result in
            if case .success = result { written(true) } else { written(false) }
        }
        transport.writeBody(self, .byteBuffer(buffer), flush: flush, promise: promise)
    }

    /// Sends what was written without a flush.
    public func flush() {
        guard !isFinished else { return }
        transport.flush()
    }

    /// Sends a file region with sendfile, in pieces of `sendfileChunk` (as
    /// nginx's sendfile_max_chunk), each confirmed when it reached the socket,
    /// so a download cut short is logged with what was sent. `handle` is
    /// closed when the last piece is written or fails.
    public func sendFile(_ region: FileRegion, handle: NIOFileHandle) {
        guard !isFinished else {
            try? handle.close()
            return
        }
        if let reader = transport.fileReader {
            sendFileByReading(region, handle: handle, reader: reader)
            return
        }
        transport.cork(true)
        var start = region.readerIndex
        while start < region.endIndex {
            let end = min(start + Self.sendfileChunk, region.endIndex)
            let isLast = end == region.endIndex
            let promise = eventLoop.makePromise(of: Void.self)
            if isLast {
                promise.futureResult.assumeIsolated().whenComplete { [transport] _ in
                    transport.cork(false)
                    try? handle.close()
                }
            }
            transport.writeBody(self, .fileRegion(FileRegion(fileHandle: handle, readerIndex: start, endIndex: end)),
                                flush: isLast, promise: promise)
            start = end
        }
    }

    static let sendfileChunk = 2 << 20
    /// What one read of a file sent over TLS brings in: four TLS records.
    static let readChunk = 64 << 10

    /// A file read chunk by chunk, each written before the next is read (the
    /// client's pace sets the reads'); `end` waits for the last.
    private func sendFileByReading(_ region: FileRegion, handle: NIOFileHandle, reader: NonBlockingFileIO) {
        readingFile = true
        let count = region.endIndex - region.readerIndex
        let writer = NIOLoopBound(self, eventLoop: eventLoop)
        reader.readChunked(fileHandle: handle, fromOffset: Int64(region.readerIndex), byteCount: count,
                           chunkSize: Self.readChunk, allocator: allocator, eventLoop: eventLoop) { chunk in
            let response = writer.value
            guard !response.isFinished else {
                return response.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
            }
            let written = response.eventLoop.makePromise(of: Void.self)
            response.transport.writeBody(response, .byteBuffer(chunk), flush: true, promise: written)
            return written.futureResult
        }.assumeIsolated().whenComplete { [self] result in
            try? handle.close()
            readingFile = false
            switch result {
            case .success: if endAfterFile { end() }
            case .failure: abort()
            }
        }
    }

    /// A file is still being read into the response (`sendFileByReading`).
    private var readingFile = false
    private var endAfterFile = false

    public func end() {
        if readingFile {
            endAfterFile = true
            return
        }
        guard !ended else { return }
        ended = true
        transport.writeEnd(self)
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
            abort()
            return
        }
        let page = errorPages.page(for: status)
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: page.contentType)
        send(status, headers: headers, body: page.body)
    }

    /// The head went out but the response cannot be completed: close.
    package func abort() {
        guard !ended else { return }
        ended = true
        transport.abort(self)
    }

    /// Stops reading the request body until `resumeReading` (a responder
    /// whose disk is slower than the client applies backpressure this way).
    /// Once the response ended, its responder no longer steers reading: a
    /// late resume must not undo the pause of the connection's next request.
    public func pauseReading() {
        guard !ended else { return }
        transport.setReading(false)
    }

    public func resumeReading() {
        guard !ended else { return }
        transport.setReading(true)
    }

    /// The response must end the connection (e.g. the body was not read).
    public func closeAfterResponse() {
        wantsClose = true
    }

    /// `100 Continue` for a responder that decided late to read the body.
    public func continueIfExpected() {
        transport.sendContinue(self)
    }
}
