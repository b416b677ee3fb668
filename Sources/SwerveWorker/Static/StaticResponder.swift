import NIOCore
import NIOHTTP1
import NIOPosix
import SwerveConfig

/// `type: static` (SPEC §4.1): files under the vhost's root with conditional
/// requests, single ranges, precompressed siblings, index files, optional
/// listings, and bodies sent with sendfile.
struct StaticResponder: Responder {
    let options: StaticRoute
    let mimeTypes: MIMETypes
    let index: [String]
    let threadPool: NIOThreadPool
    let cache: FileCache
    let dates: DateCache
    let maxBodySize: Int
    let shortage: ShortageLog
    /// Serves a folder other than the vhost's root (a script route's `dir`):
    /// the route prefix maps to `dir`. Nil: request paths map to the root.
    let mount: Mount?
    /// The route's own headers on every 200 (Cache-Control, Vary), encoded once.
    let routeHeaders: PreparedHeaders

    init(options: StaticRoute, mimeTypes: MIMETypes, index: [String], threadPool: NIOThreadPool, cache: FileCache,
         dates: DateCache, maxBodySize: Int, shortage: ShortageLog, mount: Mount? = nil) {
        self.options = options
        self.mimeTypes = mimeTypes
        self.index = index
        self.threadPool = threadPool
        self.cache = cache
        self.dates = dates
        self.maxBodySize = maxBodySize
        self.shortage = shortage
        self.mount = mount
        var headers = HTTPHeaders()
        if let cacheControl = options.cacheControl { headers.add(name: "Cache-Control", value: cacheControl) }
        if options.precompressed { headers.add(name: "Vary", value: "Accept-Encoding") }
        routeHeaders = PreparedHeaders(headers)
    }

    struct Mount: Sendable {
        /// The route path without its trailing "/".
        var prefix: String
        /// Files must resolve below it (resolved at each lookup).
        var dir: String
    }

    /// Files up to this size are read into memory and cached for a second.
    static let smallFileLimit = 64 * 1024

    /// No Range and no validators to compare: a plain 200 will do.
    static func isUnconditional(_ headers: HTTPHeaders) -> Bool {
        for (name, _) in headers {
            switch name.utf8.count {
            case 5 where name.isASCIICaseInsensitiveEqual("range"): return false
            case 13 where name.isASCIICaseInsensitiveEqual("if-none-match"): return false
            case 17 where name.isASCIICaseInsensitiveEqual("if-modified-since"): return false
            default: continue
            }
        }
        return true
    }

    func respond(to request: Request, response: ResponseWriter) -> RequestBodySink {
        guard request.method == .GET || request.method == .HEAD else {
            response.sendError(.methodNotAllowed, headers: ["Allow": "GET, HEAD"])
            return DiscardingBodySink.shared
        }
        let path = request.target.path
        guard !request.target.hasDotSegment else {
            response.sendError(.notFound)
            return DiscardingBodySink.shared
        }
        let headers = request.head.headers
        var encodings: [(String, String)] = []
        if options.precompressed {
            let accept = headers.first(name: "accept-encoding")
            if AcceptEncoding.accepts(accept, "br") { encodings.append(("br", ".br")) }
            if AcceptEncoding.accepts(accept, "gzip") { encodings.append(("gzip", ".gz")) }
        }
        let filePath = mount.map { $0.dir + path.dropFirst($0.prefix.count) } ?? request.site.vhost.root + path
        let wantsDirectory = path.hasSuffix("/")
        let key = FileCache.Key(path: filePath, wantsDirectory: wantsDirectory,
                                encodings: encodings.isEmpty ? "" : encodings.map(\.0).joined(separator: ","))
        if let cached = cache.get(key, now: dates.now) {
            answer(cached, request: request, response: response)
            return DiscardingBodySink.shared
        }
        var lookup = FileLookup(root: mount?.dir ?? request.site.vhost.root, mimeTypes: mimeTypes, index: index,
                                autoindex: options.autoindex, encodings: encodings)
        lookup.smallFileLimit = Self.smallFileLimit
        threadPool.runIfActive(eventLoop: response.eventLoop) { [lookup] in
            lookup.lookup(filePath, wantsDirectory: wantsDirectory)
        }.assumeIsolated().whenComplete { [cache, dates] result in
            switch result {
            case .success(let outcome):
                cache.put(outcome, for: key, now: dates.now)
                answer(outcome, request: request, response: response)
            case .failure:
                response.sendError(.serviceUnavailable)
            }
        }
        return DiscardingBodySink.shared
    }

    private func answer(_ outcome: FileLookup.Outcome, request: Request, response: ResponseWriter) {
        switch outcome {
        case .file(let file):
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: file.descriptor)
            guard !response.isFinished else {
                try? handle.close()
                return
            }
            sendFile(FileBody(facts: file.facts, source: .descriptor(handle)), request: request, response: response)
        case .content(let content) where Self.isUnconditional(request.head.headers):
            // The common case: a plain GET of a small cached file, written as stored bytes.
            response.sendPrepared(.ok, headers: [content.headers, routeHeaders], body: content.bytes)
        case .content(let content):
            sendFile(FileBody(facts: content.facts, source: .memory(content.bytes)), request: request, response: response)
        case .directoryWithoutSlash:
            var location = Autoindex.percentEncode(request.target.path + "/")
            if let query = request.target.query { location += "?" + query }
            response.sendError(.movedPermanently, headers: ["Location": location])
        case .listing(let entries):
            let html = Autoindex.html(for: entries, path: request.target.path)
            response.send(.ok, headers: ["Content-Type": "text/html; charset=utf-8"], body: ByteBuffer(string: html))
        case .forbidden:
            response.sendError(.forbidden)
        case .notFound:
            response.sendError(.notFound)
        case .outOfDescriptors:
            shortage.report("cannot open \(request.target.path): too many open files (raise LimitNOFILE or ulimit -n); answering 503")
            response.sendError(.serviceUnavailable, headers: ["Retry-After": "1"])
        }
    }

    /// A file to send, open or already in memory.
    private struct FileBody {
        enum Source {
            case descriptor(NIOFileHandle)
            case memory(ByteBuffer)
        }

        var facts: FileLookup.FileFacts
        var source: Source

        func release() {
            if case .descriptor(let handle) = source { try? handle.close() }
        }
    }

    private func sendFile(_ file: FileBody, request: Request, response: ResponseWriter) {
        let facts = file.facts
        let validators = facts.validators
        let size = facts.size
        let requestHeaders = request.head.headers
        var headers = HTTPHeaders()
        headers.reserveCapacity(12)
        facts.addValidators(to: &headers)
        headers.add(contentsOf: routeHeaders.headers)

        if validators.isNotModified(etag: facts.etag, ifNoneMatch: requestHeaders.first(name: "if-none-match"),
                                    ifModifiedSince: requestHeaders.first(name: "if-modified-since")) {
            file.release()
            response.sendHead(.notModified, headers: headers)
            response.end()
            return
        }
        facts.addRepresentation(to: &headers)

        var range = 0..<size
        var status = HTTPResponseStatus.ok
        if let rangeHeader = requestHeaders.first(name: "range"),
           validators.ifRangeHolds(requestHeaders.first(name: "if-range"), etag: facts.etag) {
            switch ByteRangeRequest(header: rangeHeader, size: size) {
            case .whole:
                break
            case .partial(let bytes):
                range = bytes.lowerBound..<(bytes.upperBound + 1)
                status = .partialContent
                headers.add(name: "Content-Range", value: "bytes \(bytes.lowerBound)-\(bytes.upperBound)/\(size)")
            case .unsatisfiable:
                file.release()
                response.sendError(.rangeNotSatisfiable, headers: ["Content-Range": "bytes */\(size)"])
                return
            }
        }
        headers.add(name: "Content-Length", value: String(range.count))
        response.sendHead(status, headers: headers)
        switch file.source {
        case .descriptor(let handle) where request.method != .HEAD && !range.isEmpty:
            response.sendFile(FileRegion(fileHandle: handle, readerIndex: range.lowerBound, endIndex: range.upperBound),
                              handle: handle)
        case .memory(let bytes) where request.method != .HEAD && !range.isEmpty:
            response.sendBody(bytes.getSlice(at: bytes.readerIndex + range.lowerBound, length: range.count)!)
        default:
            file.release()
        }
        response.end()
    }
}
