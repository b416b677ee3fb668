import Logging
import MultipartKit
import NIOCore
import NIOHTTP1
import NIOPosix
import SwerveConfig

/// Receives one upload's body: `MultipartFramer` splits it into part header
/// blocks, which multipart-kit parses, and part content; file parts stream
/// into `UploadFile`s, fields are collected (64 KiB in all, `max_parts`
/// parts). At the end every file is fsynced and all are published together
/// with their sidecars, the folders fsynced — and only then the 201 (or 303)
/// goes out. Any refusal, abort or failure publishes nothing and removes
/// every temporary file. Event-loop confined.
final class UploadSink: RequestBodySink {
    static let maxFieldBytes = 64 * 1024

    private let route: UploadRoute
    private let context: UploadResponder.Context
    private let request: Request
    private let response: ResponseWriter
    private var framer: MultipartFramer
    /// Parses each part's header block (the framer has checked it first).
    private let parser: MultipartParser
    private var headers: [(String, String)] = []
    private var current: Part?
    private var parts = 0
    private var files: [UploadFile] = []
    private var fields = FormFields()
    private var fieldBytes = 0
    private var finished = false
    /// The socket is not read while the disk is behind (all files together).
    private let gate: BackpressureGate

    private enum Part {
        case field(name: String, bytes: [UInt8])
        case file(UploadFile)
        /// A file input left empty by the browser: no file, nothing stored.
        case skipped
    }

    init(route: UploadRoute, context: UploadResponder.Context, request: Request, response: ResponseWriter, boundary: String) {
        self.route = route
        self.context = context
        self.request = request
        self.response = response
        self.framer = MultipartFramer(boundary: boundary)
        self.parser = MultipartParser(boundary: boundary)
        self.gate = BackpressureGate(.disk, pause: response.pauseReading, resume: response.resumeReading)
        parser.onHeader = { [unowned self] name, value in self.headers.append((name, value)) }
    }

    var wantsBody: Bool { !finished }

    func receive(_ part: ByteBuffer) {
        guard !finished else { return }
        do {
            try framer.feed(part) { event in
                guard !finished else { return }
                switch event {
                case .structure(let bytes): try parser.execute(bytes)
                case .partBegins: startPart()
                case .content(let bytes): body(bytes)
                case .partEnds: partComplete()
                case .finished: break
                }
            }
        } catch {
            refuse(.badRequest, "malformed multipart body: \(error)")
            return
        }
    }

    func receiveEnd() {
        guard !finished else { return }
        guard framer.isFinished, parts > 0 else {
            refuse(.badRequest, "incomplete multipart body")
            return
        }
        finished = true
        gate.open()
        store()
    }

    func abort() {
        guard !finished else { return }
        finished = true
        gate.open()
        for file in files { file.discard() }
    }

    // MARK: parts

    private func body(_ buffer: ByteBuffer) {
        switch current {
        case .field(let name, var bytes):
            fieldBytes += buffer.readableBytes
            guard fieldBytes <= Self.maxFieldBytes else {
                refuse(.payloadTooLarge, "form fields over \(Self.maxFieldBytes) bytes")
                return
            }
            current = nil  // the array is uniquely referenced while it grows
            bytes.append(contentsOf: buffer.readableBytesView)
            current = .field(name: name, bytes: bytes)
        case .file(let file):
            file.append(buffer)
        case .skipped, nil:
            break
        }
    }

    private func startPart() {
        parts += 1
        guard parts <= route.maxParts else {
            refuse(.payloadTooLarge, "more than \(route.maxParts) parts")
            return
        }
        let disposition = header("content-disposition").flatMap(PartDisposition.init(header:))
        guard let disposition, let filename = disposition.filename else {
            current = .field(name: disposition?.name ?? "", bytes: [])
            return
        }
        guard !filename.isEmpty else {
            current = .skipped
            return
        }
        let type = header("content-type")?.trimmingCharacters(in: .whitespaces).lowercased() ?? "application/octet-stream"
        guard files.count < route.maxFiles else {
            refuse(.payloadTooLarge, "more than \(route.maxFiles) files")
            return
        }
        guard UploadResponder.accepts(type, patterns: route.accept) else {
            refuse(.unsupportedMediaType, "type '\(type)' is not accepted here")
            return
        }
        // The declared type is the client's word; the stored file is served by its
        // extension. "x.html" sent as image/png would come back as a page of this
        // site (stored XSS), "photo.png.gz" as the gzip form of someone's photo.
        if !route.accept.isEmpty {
            let stored = SafeFileName.make(from: filename)
            let servedAs = context.mimeTypes.type(forPath: stored).split(separator: ";").first
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard UploadResponder.accepts(servedAs, patterns: route.accept) else {
                refuse(.unsupportedMediaType, "'\(stored)' would be served as '\(servedAs)', which is not accepted here")
                return
            }
        }
        let file = UploadFile(originalName: filename, contentType: type, dir: route.dir, pool: context.pool,
                              eventLoop: response.eventLoop, gate: gate,
                              failed: { [weak self] error in self?.writeFailed(error) })
        files.append(file)
        current = .file(file)
    }

    private func partComplete() {
        switch current {
        case .field(let name, let bytes):
            fields.set(name, String(decoding: bytes, as: UTF8.self))
        case .file(let file):
            file.complete()
        case .skipped, nil:
            break
        }
        current = nil
        headers.removeAll(keepingCapacity: true)
    }

    private func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }

    // MARK: the answer

    private func refuse(_ status: HTTPResponseStatus, _ reason: String) {
        finished = true
        gate.open()
        for file in files { file.discard() }
        context.logger.info("upload refused (\(status.code)): \(reason), client \(request.remoteAddress?.ipAddress ?? "-")")
        // The rest of the body is not read: this connection ends after the answer.
        response.closeAfterResponse()
        response.sendError(status)
    }

    /// Waits for every file to be written and fsynced, then publishes them
    /// all at once (pool), then answers.
    private func store() {
        let uploadedAt = HTTPDate.formatISO(context.dates.now)
        let fieldsJSON = SendableJSON(fields.json)
        let metadata = route.metadata
        let completions = files.map { $0.completed ?? response.eventLoop.makeSucceededVoidFuture() }
        let dir = route.dir
        EventLoopFuture.andAllSucceed(completions, on: response.eventLoop).assumeIsolated().flatMap { [self, context] () -> EventLoopFuture<[String]> in
            // Built once every file is complete: digests are final only then.
            let staged = files.map { file in
                file.staged(sidecar: metadata ? Self.sidecar(for: FileFacts(file), uploadedAt: uploadedAt, fields: fieldsJSON) : nil)
            }
            return context.pool.runIfActive(eventLoop: context.eventLoop) { try UploadStore.publishAll(staged, in: dir) }
        }.whenComplete { [self] result in
            switch result {
            case .success(let names):
                for (file, name) in zip(files, names) { file.published(as: name) }
                answer()
            case .failure(let error):
                failed(error)
            }
        }
    }

    /// The sidecar's text for a stored name (`NAME.json`, SPEC §4.2).
    private static func sidecar(for file: FileFacts, uploadedAt: String, fields: SendableJSON) -> @Sendable (String) -> String {
        { stored in
            JSON.encode(.object([
                ("original_name", file.originalName.map(JSON.Value.string) ?? .null),
                ("stored_name", .string(stored)),
                ("content_type", .string(file.contentType)),
                ("size", .int(file.size)),
                ("sha256", .string(file.digest)),
                ("uploaded_at", .string(uploadedAt)),
                ("fields", fields.value),
            ])) + "\n"
        }
    }

    private func answer() {
        for file in files {
            context.logger.info("upload stored \(file.storedName ?? "?") (\(file.size) bytes, \(file.contentType)) from \(request.remoteAddress?.ipAddress ?? "-")")
        }
        if let redirect = route.redirect {
            response.send(.seeOther, headers: ["Location": redirect])
            return
        }
        let body = JSON.encode(.object([
            ("files", .array(files.map { file in
                .object([
                    ("name", .string(file.storedName ?? "")),
                    ("url", context.publicURL(for: file.storedName ?? "", site: request.site).map(JSON.Value.string) ?? .null),
                    ("size", .int(file.size)),
                    ("content_type", .string(file.contentType)),
                    ("sha256", .string(file.digest)),
                ])
            })),
            ("fields", fields.json),
        ])) + "\n"
        response.send(.created, headers: ["Content-Type": "application/json"], body: ByteBuffer(string: body))
    }

    /// A file could not be written while the body still comes: answer now
    /// (the rest of the body is not read, so the connection ends after it).
    private func writeFailed(_ error: Error) {
        guard !finished else { return }
        finished = true
        gate.open()
        response.closeAfterResponse()
        failed(error)
    }

    private func failed(_ error: Error) {
        for file in files { file.discard() }
        let failure = error as? UploadStore.Failure
        if failure?.isOutOfDescriptors == true {
            context.shortage.report("upload failed: \(error); answering 503")
            response.sendError(.serviceUnavailable, headers: ["Retry-After": "1"])
            return
        }
        context.logger.error("upload failed: \(error)")
        response.sendError(failure?.isOutOfSpace == true ? .insufficientStorage : .internalServerError)
    }
}

/// What a sidecar needs of a file, copied so the pool closure holds no event-loop object.
private struct FileFacts: Sendable {
    var originalName: String?
    package var contentType: String
    package var size: Int
    var digest: String

    init(_ file: UploadFile) {
        originalName = file.originalName
        contentType = file.contentType
        size = file.size
        digest = file.digest
    }
}

private struct SendableJSON: @unchecked Sendable {
    var value: JSON.Value
    init(_ value: JSON.Value) { self.value = value }
}

/// Form fields in the order first sent; a name sent twice keeps its last
/// value. Linear in the number of fields (a name lookup is a hash).
struct FormFields {
    private var names: [String] = []
    private var values: [String: String] = [:]

    mutating func set(_ name: String, _ value: String) {
        if values.updateValue(value, forKey: name) == nil { names.append(name) }
    }

    var count: Int { names.count }

    var json: JSON.Value { .object(names.map { ($0, .string(values[$0] ?? "")) }) }
}
