import NIOHTTP1

/// Stands in for a route kind whose implementation has not landed yet
/// (upload and script routes, which come with their own issues): answers
/// 501 Not Implemented rather than pretending to work.
struct UnavailableResponder: Responder {
    let maxBodySize: Int

    func respond(to request: Request, response: ResponseWriter) -> RequestBodySink {
        response.sendError(.notImplemented)
        return DiscardingBodySink.shared
    }
}
