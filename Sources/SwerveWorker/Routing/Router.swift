import NIOHTTP1
import SwerveConfig

/// Where a request goes: the one place that turns a request target and a
/// host into a route — the vhost by host among those on the listener (an
/// absolute-form target's authority first, RFC 9112 §3.2.2), the path
/// decoded and normalised, the route by longest prefix. Protocol-neutral:
/// an HTTP/1 head, an HTTP/2 stream (`:authority`, `:path`) and a script's
/// internal redirect all ask it the same question.
package struct Router: Sendable {
    private let hosts: HostTable<Site>

    package init(sites: [Site]) {
        hosts = HostTable(vhosts: sites.map(\.vhost), values: sites)
    }

    package enum Outcome: Sendable {
        case route(Route)
        /// Answered with `status`, with the site's error pages when a vhost was found.
        case refused(HTTPResponseStatus, site: Site?)
    }

    /// `target` as the client sent it ("/a?b" or "http://h/a"); `host` its Host header.
    package func route(target: String, host: String?, listener: ListenAddress) -> Outcome {
        var memo: HostMemo?
        return route(target: target, host: host, listener: listener, memo: &memo)
    }

    package typealias HostMemo = HostTable<Site>.Memo

    /// The same, remembering the last host's vhost in `memo` (one per connection).
    package func route(target: String, host: String?, listener: ListenAddress, memo: inout HostMemo?) -> Outcome {
        let path = RequestPath(target: target)
        guard let site = hosts.lookup(host: path?.authority ?? host, listener: listener, memo: &memo) else {
            return .refused(.misdirectedRequest, site: nil)
        }
        guard let path else { return .refused(.badRequest, site: site) }
        return Self.route(path, in: site)
    }

    /// A script's local `Location` (RFC 3875 §6.2.2): a path on the same site.
    package static func route(location: String, in site: Site) -> Outcome {
        guard let path = RequestPath(target: location) else { return .refused(.notFound, site: site) }
        return route(path, in: site)
    }

    private static func route(_ path: RequestPath, in site: Site) -> Outcome {
        guard let (prefix, responder) = site.routes.match(path.path) else { return .refused(.notFound, site: site) }
        return .route(Route(site: site, target: path, prefix: prefix, responder: responder))
    }
}

/// A request's destination, as the router found it.
package struct Route: Sendable {
    package let site: Site
    package let target: RequestPath
    /// The matched route prefix.
    package let prefix: String
    package let responder: any Responder

    /// Bodies larger than this are refused with 413.
    package var maxBodySize: Int { responder.maxBodySize }
}
