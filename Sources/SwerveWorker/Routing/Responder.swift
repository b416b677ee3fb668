import NIOCore
import NIOHTTP1
import SwerveConfig

/// What a route does with a request: the single seam where static, upload
/// and script routes plug into the HTTP engine (Hummingbird's core/router
/// split). The engine has already checked the head (Host, limits, Expect)
/// and chosen the vhost and route; the responder answers through `response`.
public protocol Responder: Sendable {
    /// Bodies larger than this are refused with 413 (a declared
    /// Content-Length before any of it is read).
    var maxBodySize: Int { get }

    /// Starts answering on the connection's event loop and returns what
    /// receives the request body. Call `response` methods on that loop only.
    func respond(to request: Request, response: ResponseWriter) -> RequestBodySink
}

/// Receives a request body as it streams in, on the connection's event loop.
public protocol RequestBodySink: AnyObject {
    /// True when the responder reads the body: the engine then answers
    /// `Expect: 100-continue` with `100 Continue`. False: the body is discarded.
    var wantsBody: Bool { get }
    func receive(_ part: ByteBuffer)
    func receiveEnd()
    /// The connection is gone or the worker stops: release everything now.
    func abort()
    /// True while the responder has not decided yet whether it reads the body
    /// (a lookup under way): `100 Continue` waits for its
    /// `ResponseWriter.continueIfExpected()`.
    var decidesLater: Bool { get }
}

extension RequestBodySink {
    public var decidesLater: Bool { false }
}

/// A sink for responders that do not read the body: the engine drains it.
public final class DiscardingBodySink: RequestBodySink, Sendable {
    public static let shared = DiscardingBodySink()
    public var wantsBody: Bool { false }
    public func receive(_ part: ByteBuffer) {}
    public func receiveEnd() {}
    public func abort() {}
}

/// One request as a responder sees it.
public struct Request: Sendable {
    public var head: HTTPRequestHead
    /// Decoded and normalised target path and raw query.
    public var target: RequestPath
    public var site: Site
    /// The matched route prefix.
    public var routePrefix: String
    public var remoteAddress: SocketAddress?
    public var localAddress: SocketAddress?
    /// The request has a body (a Content-Length above 0, or chunked).
    public var hasBody = false
    /// The connection's TLS; nil over plain HTTP.
    public var tls: TLSFacts?
    /// How many internal redirects (a script's local `Location`) led here.
    public var internalRedirects = 0

    public var method: HTTPMethod { head.method }

    public init(head: HTTPRequestHead, target: RequestPath, site: Site, routePrefix: String,
                remoteAddress: SocketAddress?, localAddress: SocketAddress?) {
        self.head = head
        self.target = target
        self.site = site
        self.routePrefix = routePrefix
        self.remoteAddress = remoteAddress
        self.localAddress = localAddress
    }
}

/// A vhost ready to serve: its config, real root and route table, built once per worker.
public final class Site: Sendable {
    public let vhost: VirtualHost
    /// The root with symlinks resolved: served files must resolve below it.
    public let realRoot: String
    public let routes: RouteTable<any Responder>
    public let errorPages: ErrorPages
    /// Its `hsts` value, sent on its TLS responses.
    let hsts: HSTS?
    /// With `redirect_http`, the port its plain requests are sent to on https.
    let httpsRedirectPort: Int?

    public init(vhost: VirtualHost, realRoot: String, routes: RouteTable<any Responder>, errorPages: ErrorPages) {
        self.vhost = vhost
        self.realRoot = realRoot
        self.routes = routes
        self.errorPages = errorPages
        hsts = vhost.tls?.hsts.map(HSTS.init)
        let tlsPort = vhost.listen.first { vhost.tlsListen.contains($0) }?.port
        httpsRedirectPort = vhost.tls?.redirectHTTP == true ? tlsPort : nil
    }
}

extension Site {
    /// A `Strict-Transport-Security` value, with its HTTP/1 line made once.
    struct HSTS: Sendable {
        static let name = "strict-transport-security"
        let value: String
        /// "Strict-Transport-Security: …\r\n"
        let http1Line: String

        init(_ value: String) {
            self.value = value
            http1Line = "Strict-Transport-Security: \(value)\r\n"
        }
    }
}
