import NIOCore
import NIOHTTP1
import SwerveConfig

/// What every request goes through once its head passed `RequestHeadCheck`,
/// whichever protocol carried it (an HTTP/1.1 connection, an HTTP/2
/// stream): an http-01 answer on a plain listener, the router, the site's
/// `redirect_http`, the route's body limit, and its responder.
enum RequestDispatch {
    enum Outcome {
        /// Answered already: a token, a refusal, a redirect, a 413.
        case answered
        /// The exchange's sink reads the body, up to `bodyLimit` bytes.
        case responding(bodyLimit: Int)
    }

    /// Where the request came in: the same for every request of a connection.
    struct Origin {
        let worker: WorkerContext
        let listener: ListenAddress
        /// Nil on a plain listener.
        let tls: ConnectionTLS?
        let remoteAddress: SocketAddress?
        let localAddress: SocketAddress?
    }

    /// `memo`: the connection's last host and its vhost.
    static func start(_ exchange: Exchange, declaredLength: Int?, hasBody: Bool, from origin: Origin,
                      memo: inout Router.HostMemo?) -> Outcome {
        let head = exchange.head
        let response = exchange.response
        let worker = origin.worker
        if origin.tls == nil, let challenges = worker.acmeChallenges,
           let answer = challenges.answer(method: head.method.rawValue, uri: head.uri) {
            var body = ByteBuffer()
            body.writeBytes(answer)
            response.send(.ok, headers: ["Content-Type": "text/plain"], body: body)
            return .answered
        }
        let route: Route
        switch worker.router.route(target: head.uri, host: head.headers.first(name: "host"), listener: origin.listener,
                                  memo: &memo) {
        case .route(let found):
            route = found
        case .refused(let status, let site):
            if let site, reached(site, exchange, from: origin) == .redirected { return .answered }
            response.sendError(status)
            return .answered
        }
        if reached(route.site, exchange, from: origin) == .redirected { return .answered }
        if let declaredLength, declaredLength > route.maxBodySize {
            // Refused on its head: no 100 Continue, and the unread body ends the connection.
            response.closeAfterResponse()
            response.sendError(.payloadTooLarge)
            return .answered
        }
        var request = Request(head: head, target: route.target, site: route.site, routePrefix: route.prefix,
                              remoteAddress: origin.remoteAddress, localAddress: origin.localAddress)
        request.tls = origin.tls?.facts
        request.hasBody = hasBody
        exchange.sink = route.responder.respond(to: request, response: response)
        return .responding(bodyLimit: route.maxBodySize)
    }

    enum SiteOutcome { case serve, redirected }

    /// The request reached `site` (routed or refused): its error pages, its
    /// log name, its HSTS over TLS; and `redirect_http` (SPEC §2.1): on a
    /// plain listener, 308 to the same path and query on https.
    static func reached(_ site: Site, _ exchange: Exchange, from origin: Origin) -> SiteOutcome {
        exchange.response.errorPages = site.errorPages
        exchange.vhostName = site.vhost.logName
        if origin.tls != nil {
            exchange.hsts = site.hsts
            return .serve
        }
        guard let port = site.httpsRedirectPort else { return .serve }
        let host = HTTPSRedirect.host(exchange.head.headers.first(name: "host"), site: site,
                                      local: origin.localAddress?.ipAddress)
        let location = HTTPSRedirect.location(host: host, port: port, uri: exchange.head.uri)
        exchange.response.sendError(.permanentRedirect, headers: ["Location": location])
        return .redirected
    }
}
