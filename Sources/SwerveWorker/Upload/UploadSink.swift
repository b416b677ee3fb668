import Logging
import MultipartKit
import NIOCore
import NIOHTTP1
import NIOPosix
import SwerveConfig

/// Receives one upload's body: multipart-kit's streaming parser turns it into
/// parts, file parts stream into `UploadFile`s, fields are collected (64 KiB
/// in all). At the end every file is fsynced and published, sidecars written,
/// the folder fsynced — and only then the 201 (or 303) goes out. Any refusal
/// or abort removes every temporary file. Event-loop confined.
final class UploadSink: RequestBodySink {
    static let maxFieldBytes = 64 * 1024
    /// Backpressure: stop reading the socket while this much waits for the disk.
    static let pauseAbove = 8 << 20
    static let resumeBelow = 2 << 20

    private let route: UploadRoute
    private let context: UploadResponder.Context
    private let request: Request
    private let response: ResponseWriter
    private let parser: MultipartParser
    private var headers: [(String, String)] = []
    private var current: Part?
    private var files: [UploadFile] = []
    private var fields: [(String, String)] = []
    private var fieldBytes = 0
    private var finished = false
    private var paused = false

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
        self.parser = MultipartParser(boundary: boundary)
        parser.onHeader = { [unowned self] name, value in self.headers.append((name, value)) }
        parser.onBody = { [unowned self] buffer in self.body(buffer) }
        parser.onPartComplete = { [unowned self] in self.partComplete() }
    }

    var wantsBody: Bool { !finished }

    func receive(_ part: ByteBuffer) {
        guard !finished else { return }
        do {
            try parser.execute(part)
        } catch {
            refuse(.badRequest, "malformed multipart body")
        }
    }

    func receiveEnd() {
        guard !finished else { return }
        guard current == nil, !files.isEmpty || !fields.isEmpty else {
            refuse(.badRequest, "incomplete multipart body")
            return
        }
        finished = true
        store()
    }

    func abort() {
        guard !finished else { return }
        finished = true
        for file in files { file.discard() }
    }

    // MARK: parts

    private func body(_ buffer: ByteBuffer) {
        guard !finished else { return }
        if current == nil { startPart() }
        switch current {
        case .field(let name, var bytes):
            fieldBytes += buffer.readableBytes
            guard fieldBytes <= Self.maxFieldBytes else {
                refuse(.payloadTooLarge, "form fields over \(Self.maxFieldBytes) bytes")
                return
            }
            bytes.append(contentsOf: buffer.readableBytesView)
            current = .field(name: name, bytes: bytes)
        case .file(let file):
            file.append(buffer) { [weak self] in self?.drained() }
            if !paused && queuedBytes > Self.pauseAbove {
                paused = true
                response.pauseReading()
            }
        case .skipped, nil:
            break
        }
    }

    private func startPart() {
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
            let servedAs = context.mimeTypes.type(forPath: stored).split(separator: ";")[0]
                .trimmingCharacters(in: .whitespaces).lowercased()
            guard UploadResponder.accepts(servedAs, patterns: route.accept) else {
                refuse(.unsupportedMediaType, "'\(stored)' would be served as '\(servedAs)', which is not accepted here")
                return
            }
        }
        let file = UploadFile(originalName: filename, contentType: type, dir: route.dir, pool: context.pool,
                              eventLoop: response.eventLoop)
        files.append(file)
        current = .file(file)
    }

    private func partComplete() {
        guard !finished else { return }
        if current == nil { startPart() }  // an empty part: no body bytes at all
        switch current {
        case .field(let name, let bytes):
            let value = String(decoding: bytes, as: UTF8.self)
            if let index = fields.firstIndex(where: { $0.0 == name }) { fields[index].1 = value } else { fields.append((name, value)) }
        case .file(let file):
            file.complete()
        case .skipped, nil:
            break
        }
        current = nil
        headers.removeAll()
    }

    private func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }

    private var queuedBytes: Int { files.reduce(0) { $0 + $1.queuedBytes } }

    private func drained() {
        if paused && queuedBytes < Self.resumeBelow {
            paused = false
            response.resumeReading()
        }
    }

    // MARK: the answer

    private func refuse(_ status: HTTPResponseStatus, _ reason: String) {
        finished = true
        for file in files { file.discard() }
        if paused { response.resumeReading() }
        context.logger.info("upload refused (\(status.code)): \(reason), client \(request.remoteAddress?.ipAddress ?? "-")")
        // The rest of the body is not read: this connection ends after the answer.
        response.closeAfterResponse()
        response.sendError(status)
    }

    /// fsync each file, publish it under a free name with its sidecar, fsync the folder, answer.
    private func store() {
        let uploadedAt = HTTPDate.formatISO(context.dates.now)
        let fieldsJSON = JSON.Value.object(fields.map { ($0.0, .string($0.1)) })
        let metadata = route.metadata
        var chain = response.eventLoop.makeSucceededVoidFuture()
        for file in files {
            let completed = file.completed ?? response.eventLoop.makeSucceededVoidFuture()
            chain = chain.assumeIsolated().flatMap { completed }.flatMap { () -> EventLoopFuture<Void> in
                // Built once the file is complete: its digest is final only then.
                let sidecar = metadata ? Self.sidecar(for: FileFacts(file), uploadedAt: uploadedAt, fields: SendableJSON(fieldsJSON)) : nil
                return file.publish(sidecar: sidecar).map { _ in () }
            }.nonisolated()
        }
        let dir = route.dir
        chain.assumeIsolated().flatMap { [context] in
            context.pool.runIfActive(eventLoop: context.eventLoop) { try UploadStore.syncDirectory(dir) }
        }.whenComplete { [self] result in
            switch result {
            case .success: answer()
            case .failure(let error): failed(error)
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
            ("fields", .object(fields.map { ($0.0, .string($0.1)) })),
        ])) + "\n"
        response.send(.created, headers: ["Content-Type": "application/json"], body: ByteBuffer(string: body))
    }

    private func failed(_ error: Error) {
        for file in files where file.storedName == nil { file.discard() }
        context.logger.error("upload failed: \(error)")
        let outOfSpace = (error as? UploadStore.Failure)?.isOutOfSpace ?? false
        response.sendError(outOfSpace ? .insufficientStorage : .internalServerError)
    }
}

/// What a sidecar needs of a file, copied so the pool closure holds no event-loop object.
private struct FileFacts: Sendable {
    var originalName: String?
    var contentType: String
    var size: Int
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
