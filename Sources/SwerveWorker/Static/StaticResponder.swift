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
    let maxBodySize: Int

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
        let lookup = FileLookup(realRoot: request.site.realRoot, index: index, autoindex: options.autoindex,
                                encodings: encodings)
        let filePath = request.site.vhost.root + path
        let wantsDirectory = path.hasSuffix("/")
        threadPool.runIfActive(eventLoop: response.eventLoop) {
            lookup.lookup(filePath, wantsDirectory: wantsDirectory)
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let outcome):
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
            sendFile(file, handle: handle, request: request, response: response)
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
        }
    }

    private func sendFile(_ file: FileLookup.OpenedFile, handle: NIOFileHandle, request: Request, response: ResponseWriter) {
        let validators = FileValidators(modified: file.modified, size: file.size)
        let requestHeaders = request.head.headers
        var headers = HTTPHeaders()
        headers.add(name: "Last-Modified", value: validators.lastModified)
        headers.add(name: "ETag", value: validators.etag)
        if let cacheControl = options.cacheControl { headers.add(name: "Cache-Control", value: cacheControl) }
        if options.precompressed { headers.add(name: "Vary", value: "Accept-Encoding") }

        if validators.isNotModified(ifNoneMatch: requestHeaders.first(name: "if-none-match"),
                                    ifModifiedSince: requestHeaders.first(name: "if-modified-since")) {
            try? handle.close()
            response.sendHead(.notModified, headers: headers)
            response.end()
            return
        }
        headers.add(name: "Content-Type", value: mimeTypes.type(forPath: file.typePath))
        headers.add(name: "Accept-Ranges", value: "bytes")
        if let coding = file.contentEncoding { headers.add(name: "Content-Encoding", value: coding) }

        var range = 0..<file.size
        var status = HTTPResponseStatus.ok
        if validators.ifRangeHolds(requestHeaders.first(name: "if-range")) {
            switch ByteRangeRequest(header: requestHeaders.first(name: "range"), size: file.size) {
            case .whole:
                break
            case .partial(let bytes):
                range = bytes.lowerBound..<(bytes.upperBound + 1)
                status = .partialContent
                headers.add(name: "Content-Range", value: "bytes \(bytes.lowerBound)-\(bytes.upperBound)/\(file.size)")
            case .unsatisfiable:
                try? handle.close()
                response.sendError(.rangeNotSatisfiable, headers: ["Content-Range": "bytes */\(file.size)"])
                return
            }
        }
        headers.add(name: "Content-Length", value: String(range.count))
        response.sendHead(status, headers: headers)
        if request.method == .HEAD || range.isEmpty {
            try? handle.close()
        } else {
            response.sendFile(FileRegion(fileHandle: handle, readerIndex: range.lowerBound, endIndex: range.upperBound),
                              handle: handle)
        }
        response.end()
    }
}
