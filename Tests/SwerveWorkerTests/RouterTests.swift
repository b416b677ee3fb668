import NIOHTTP1
import SwerveConfig
import SwerveWorker
import Testing

/// The one place a request target and a host become a route.
@Suite struct RouterTests {
    static let listener = ListenAddress(host: "127.0.0.1", port: 8080, family: .ipv4)
    static let other = ListenAddress(host: "127.0.0.1", port: 8081, family: .ipv4)

    struct Named: Responder {
        let name: String
        var maxBodySize: Int { 42 }
        func respond(to request: Request, response: ResponseWriter) -> RequestBodySink { DiscardingBodySink.shared }
    }

    static func site(_ names: [ServerName], routes: [String], isDefault: Bool = false) -> Site {
        var vhost = VirtualHost()
        vhost.names = names
        vhost.listen = [listener]
        vhost.isDefault = isDefault
        vhost.root = "/srv/" + (names.first?.description ?? "default")
        let table = RouteTable<any Responder>(routes.map { ($0, Named(name: $0) as any Responder) })
        return Site(vhost: vhost, realRoot: vhost.root, routes: table, errorPages: ErrorPages())
    }

    let router = Router(sites: [
        site([.exact("a.test")], routes: ["/", "/upload"]),
        site([.exact("b.test")], routes: ["/cgi-bin/"], isDefault: true),
    ])

    private func route(_ target: String, host: String?, on listener: ListenAddress = listener) -> (vhost: String, prefix: String)? {
        guard case .route(let route) = router.route(target: target, host: host, listener: listener) else { return nil }
        return (route.site.vhost.names.first?.description ?? "", route.prefix)
    }

    private func refusal(_ target: String, host: String?, on listener: ListenAddress = listener) -> (HTTPResponseStatus, String?)? {
        guard case .refused(let status, let site) = router.route(target: target, host: host, listener: listener) else { return nil }
        return (status, site?.vhost.names.first?.description)
    }

    @Test func hostThenLongestPrefix() throws {
        #expect(route("/upload/x", host: "a.test")! == ("a.test", "/upload"))
        #expect(route("/uploads", host: "a.test")! == ("a.test", "/"))
        #expect(route("/cgi-bin/x.py", host: "b.test:8080")! == ("b.test", "/cgi-bin/"))
        // Unknown or missing host: the listener's default vhost.
        #expect(route("/cgi-bin/x", host: "nope.test")! == ("b.test", "/cgi-bin/"))
        #expect(route("/cgi-bin/x", host: nil)! == ("b.test", "/cgi-bin/"))
    }

    @Test func theTargetIsDecodedAndNormalised() throws {
        let outcome = router.route(target: "/a/%2e%2e/upload/./y?q=1", host: "a.test", listener: Self.listener)
        guard case .route(let route) = outcome else {
            Issue.record("not routed: \(outcome)")
            return
        }
        #expect(route.target.path == "/upload/y")
        #expect(route.target.query == "q=1")
        #expect(route.prefix == "/upload")
        #expect(route.maxBodySize == 42)
    }

    @Test func anAbsoluteFormAuthorityWinsOverHost() {
        #expect(route("http://a.test/upload", host: "b.test")! == ("a.test", "/upload"))
    }

    @Test func aConnectionsHostMemoAnswersOnlyForTheSameHost() {
        var memo: Router.HostMemo?
        func vhost(_ target: String, _ host: String?) -> String? {
            switch router.route(target: target, host: host, listener: Self.listener, memo: &memo) {
            case .route(let route): return route.site.vhost.names.first?.description
            case .refused(_, let site): return site?.vhost.names.first?.description
            }
        }
        #expect(vhost("/", "a.test:8080") == "a.test")
        #expect(vhost("/", "a.test:8080") == "a.test")
        #expect(vhost("/", "b.test") == "b.test", "another Host is looked up")
        #expect(vhost("/", nil) == "b.test")
        #expect(vhost("http://a.test/", "b.test") == "a.test", "the authority is what is remembered")
        #expect(vhost("/", "b.test") == "b.test")
    }

    @Test func refusalsNameTheSiteWhenThereIsOne() {
        #expect(refusal("/../x", host: "a.test")! == (.badRequest, "a.test"))
        #expect(refusal("/nothing-here", host: "b.test")! == (.notFound, "b.test"))
        #expect(refusal("/", host: "a.test", on: Self.other)! == (.misdirectedRequest, nil))
    }

    @Test func internalRedirectsStayOnTheirSite() {
        let site = Self.site([.exact("c.test")], routes: ["/", "/cgi-bin/"])
        guard case .route(let route) = Router.route(location: "/cgi-bin/next.py?x", in: site) else {
            Issue.record("not routed")
            return
        }
        #expect(route.prefix == "/cgi-bin/")
        #expect(route.site === site)
        guard case .refused(let status, _) = Router.route(location: "/%zz", in: site) else {
            Issue.record("a bad location was routed")
            return
        }
        #expect(status == .notFound)
    }
}
