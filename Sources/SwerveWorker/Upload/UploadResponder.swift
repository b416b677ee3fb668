import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SwerveConfig

/// `type: upload` (SPEC §4.2): POST multipart/form-data streamed to `dir`.
package struct UploadResponder: Responder {
    /// Per-worker things an upload needs.
    struct Context: Sendable {
        var pool: NIOThreadPool
        var eventLoop: EventLoop
        var dates: DateCache
        var logger: Logger
        /// The upload folder with symlinks resolved, to find its public URL.
        var realDir: String
        /// How stored files will be served (by extension): checked against `accept`.
        var mimeTypes: MIMETypes
        var shortage: ShortageLog

        /// "/uploads/photo.jpg" when the folder lies under the vhost's root and
        /// that path is served by a static route; else nil.
        func publicURL(for name: String, site: Site) -> String? {
            guard FileLookup.isInside(realDir, root: site.realRoot) else { return nil }
            let relative = String(realDir.dropFirst(site.realRoot == "/" ? 0 : site.realRoot.count))
            let path = (relative.hasSuffix("/") ? relative : relative + "/") + name
            guard let (_, responder) = site.routes.match(path), responder is StaticResponder else { return nil }
            return Autoindex.percentEncode(path)
        }
    }

    let route: UploadRoute
    let context: Context
    package var maxBodySize: Int { route.maxSize }

    package func respond(to request: Request, response: ResponseWriter) -> RequestBodySink {
        guard request.method == .POST else {
            response.sendError(.methodNotAllowed, headers: ["Allow": "POST"])
            return DiscardingBodySink.shared
        }
        guard let boundary = Self.boundary(request.head.headers.first(name: "content-type")) else {
            response.sendError(.unsupportedMediaType)
            return DiscardingBodySink.shared
        }
        return UploadSink(route: route, context: context, request: request, response: response, boundary: boundary)
    }

    /// The boundary of a `multipart/form-data` Content-Type, nil for anything else.
    package static func boundary(_ contentType: String?) -> String? {
        guard let contentType else { return nil }
        let parts = contentType.split(separator: ";")
        guard parts.first?.trimmingSpaces.lowercased() == "multipart/form-data" else { return nil }
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingSpaces.lowercased() == "boundary" else { continue }
            var value = String(pair[1].trimmingSpaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    /// Does a part's type match one of the route's `accept` patterns (`image/*`, `*/*`, exact)?
    package static func accepts(_ type: String, patterns: [String]) -> Bool {
        guard !patterns.isEmpty else { return true }
        let bare = type.split(separator: ";").first.map { String($0.trimmingSpaces).lowercased() } ?? ""
        return patterns.contains { pattern in
            if pattern == "*/*" { return true }
            if pattern.hasSuffix("/*") { return bare.hasPrefix(pattern.dropLast()) }
            return bare == pattern
        }
    }
}
