import Glibc
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SwerveConfig

/// `type: script` (SPEC §4.3): a file whose extension has an interpreter
/// runs as a CGI/1.1 script (RFC 3875); any other file under the route is
/// served as in a static route.
struct ScriptResponder: Responder {
    /// What every script route of a worker shares.
    struct Context: Sendable {
        var threadPool: NIOThreadPool
        var reaper: ChildReaper
        var dates: DateCache
        var logger: Logger
        var timeout: TimeAmount
        var shortage: ShortageLog
    }

    let route: ScriptRoute
    let locator: ScriptLocator
    /// Serves the route's files that are not scripts.
    let files: StaticResponder
    let context: Context
    let slots: ScriptSlots
    let cache = ScriptLocationCache()
    let maxBodySize: Int

    /// Internal redirects one request may follow (Apache's LimitInternalRecursion).
    static let maxInternalRedirects = 10

    func respond(to request: Request, response: ResponseWriter) -> RequestBodySink {
        guard !request.target.hasDotSegment else {
            response.sendError(.notFound)
            return DiscardingBodySink.shared
        }
        let path = request.target.path
        if let cached = cache.get(path, now: context.dates.now) {
            return answer(cached, request: request, response: response)
        }
        let sink = DeferredBodySink(response: response)
        context.threadPool.runIfActive(eventLoop: response.eventLoop) { [locator] in
            locator.locate(path)
        }.assumeIsolated().whenComplete { [cache, context] result in
            guard !sink.isAborted, !response.isFinished else { return }
            switch result {
            case .success(let outcome):
                cache.put(outcome, for: path, now: context.dates.now)
                sink.forward(to: answer(outcome, request: request, response: response))
            case .failure:
                response.sendError(.serviceUnavailable)
                sink.forward(to: DiscardingBodySink.shared)
            }
        }
        return sink
    }

    /// Answers what the lookup found; returns what reads the request body.
    private func answer(_ outcome: ScriptLocator.Outcome, request: Request, response: ResponseWriter) -> RequestBodySink {
        switch outcome {
        case .run(let script, let arguments):
            return start(script, arguments: arguments, request: request, response: response)
        case .serveStatic:
            return files.respond(to: request, response: response)
        case .notFound:
            response.sendError(.notFound)
        case .interpreterMissing(let command, let script):
            context.logger.error("script \(script): interpreter '\(command)' not found on PATH \(locator.searchPath)")
            response.sendError(.internalServerError)
        }
        return DiscardingBodySink.shared
    }

    private func start(_ script: CGIEnvironment.Script, arguments: [String], request: Request,
                       response: ResponseWriter) -> RequestBodySink {
        guard slots.acquire() else {
            context.logger.warning("script \(script.name): \(route.maxConcurrent) scripts already running (max_concurrent)")
            response.sendError(.serviceUnavailable, headers: ["Retry-After": "1"])
            return DiscardingBodySink.shared
        }
        let environment = CGIEnvironment(request: request, script: script, routeEnvironment: route.env)
        let directory = String(script.filename[..<(script.filename.lastIndex(of: "/") ?? script.filename.endIndex)])
        let process: CGIProcess
        do {
            process = try CGIProcess.spawn(arguments: arguments, environment: environment.execveStrings,
                                           directory: directory.isEmpty ? "/" : directory, input: request.hasBody)
        } catch {
            slots.release()
            if error.code == EMFILE || error.code == ENFILE {
                context.shortage.report("script \(script.name): cannot start: \(error); answering 503")
                response.sendError(.serviceUnavailable, headers: ["Retry-After": "1"])
            } else {
                context.logger.error("script \(script.name): cannot start: \(error)")
                response.sendError(.internalServerError)
            }
            return DiscardingBodySink.shared
        }
        let settings = CGIRun.Settings(output: route.output, contentType: route.contentType,
                                       timeout: context.timeout, logger: context.logger,
                                       isHead: request.head.method == .HEAD)
        let run = CGIRun(scriptName: script.name, settings: settings, response: response,
                         redirect: { [context] location in
                             Self.internalRedirect(request, to: location, response: response, logger: context.logger)
                         },
                         release: { [slots] in slots.release() })
        run.start(process, reaper: context.reaper)
        return run
    }

    /// RFC 3875 §6.2.2: answer as if the client had asked for `location`
    /// with GET — through the vhost's routes, like any request.
    /// Returns what answers the new request (told if the client goes away).
    static func internalRedirect(_ request: Request, to location: String, response: ResponseWriter,
                                 logger: Logger) -> RequestBodySink? {
        guard request.internalRedirects < maxInternalRedirects else {
            logger.error("more than \(maxInternalRedirects) internal redirects for \(request.head.uri), the last to \(location)")
            response.sendError(.internalServerError)
            return nil
        }
        guard case .route(let route) = Router.route(location: location, in: request.site) else {
            response.sendError(.notFound)
            return nil
        }
        var head = HTTPRequestHead(version: request.head.version, method: .GET, uri: location, headers: request.head.headers)
        for name in ["content-length", "content-type", "transfer-encoding", "expect"] { head.headers.remove(name: name) }
        var next = Request(head: head, target: route.target, site: route.site, routePrefix: route.prefix,
                           remoteAddress: request.remoteAddress, localAddress: request.localAddress)
        next.internalRedirects = request.internalRedirects + 1
        next.tls = request.tls
        let sink = route.responder.respond(to: next, response: response)
        sink.receiveEnd()
        return sink
    }
}

/// Scripts of one route running in this worker, against `max_concurrent`.
/// Event loop only.
final class ScriptSlots: @unchecked Sendable {
    private let limit: Int
    private var running = 0

    init(limit: Int) {
        self.limit = limit
    }

    func acquire() -> Bool {
        guard running < limit else { return false }
        running += 1
        return true
    }

    func release() {
        running -= 1
    }
}
