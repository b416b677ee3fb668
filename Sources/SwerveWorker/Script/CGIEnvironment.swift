import NIOCore
import NIOHTTP1
import SwerveConfig

/// The environment a CGI script starts with (RFC 3875 §4.1): built from
/// nothing but the request and the route — the worker's own environment is
/// never passed on.
public struct CGIEnvironment: Equatable, Sendable {
    public var variables: [String: String]

    /// Where the script is, as `ScriptLocator` found it.
    public struct Script: Equatable, Sendable {
        /// The URL path of the script ("/cgi-bin/app.py").
        public var name: String
        /// The URL path after it ("/a/b"), or "".
        public var pathInfo: String
        /// The file ("/srv/www/cgi-bin/app.py").
        public var filename: String

        public init(name: String, pathInfo: String, filename: String) {
            self.name = name
            self.pathInfo = pathInfo
            self.filename = filename
        }
    }

    public static let defaultPath = "/usr/local/bin:/usr/bin:/bin"

    /// Request headers that never become `HTTP_*`: `Proxy` (httpoxy: a client
    /// could point the script's HTTP client at its own proxy) and the two with
    /// variables of their own.
    static let excludedHeaders: Set<String> = ["proxy", "content-type", "content-length"]

    /// Precedence, lowest first: PATH's default, the route's `env`, then the
    /// request's variables (a route cannot fake what the request says).
    public init(request: Request, script: Script, routeEnvironment: [String: String]) {
        var variables = ["PATH": Self.defaultPath]
        variables.merge(routeEnvironment) { _, route in route }

        let head = request.head
        for (name, value) in Self.headerVariables(head.headers) { variables[name] = value }

        variables["GATEWAY_INTERFACE"] = "CGI/1.1"
        variables["SERVER_SOFTWARE"] = "swerve/\(SwerveVersion.string)"
        // "HTTP/2" over HTTP/2, as Apache and nginx set it.
        variables["SERVER_PROTOCOL"] = head.version.major == 2 ? "HTTP/2" : "HTTP/\(head.version.major).\(head.version.minor)"
        variables["REQUEST_METHOD"] = head.method.rawValue
        variables["REQUEST_URI"] = head.uri
        variables["QUERY_STRING"] = request.target.query ?? ""
        variables["SCRIPT_NAME"] = script.name
        variables["PATH_INFO"] = script.pathInfo
        variables["SCRIPT_FILENAME"] = script.filename
        variables["DOCUMENT_ROOT"] = request.site.vhost.root
        variables["SERVER_NAME"] = Self.serverName(host: request.target.authority ?? head.headers.first(name: "host"), request: request)
        variables["SERVER_PORT"] = request.localAddress?.port.map(String.init) ?? ""
        variables["REMOTE_ADDR"] = request.remoteAddress?.ipAddress ?? ""
        variables["REMOTE_PORT"] = request.remoteAddress?.port.map(String.init) ?? ""
        // As Apache's mod_ssl and nginx's fastcgi_params: how a script tells https from http.
        variables["REQUEST_SCHEME"] = request.tls == nil ? "http" : "https"
        if let tls = request.tls {
            variables["HTTPS"] = "on"
            variables["SSL_PROTOCOL"] = tls.version
            if let name = tls.serverName { variables["SSL_TLS_SNI"] = name }
        }
        // php-cgi refuses to run without it (its guard against direct invocation).
        variables["REDIRECT_STATUS"] = "200"
        if let type = head.headers.first(name: "content-type") { variables["CONTENT_TYPE"] = type }
        // A chunked body has no length up front: the script reads stdin to its end (as Apache's mod_cgi).
        if let length = head.headers.first(name: "content-length") { variables["CONTENT_LENGTH"] = length }
        self.variables = variables
    }

    /// `NAME=value` strings for execve (in no particular order).
    public var execveStrings: [String] {
        variables.map { "\($0.key)=\($0.value)" }
    }

    /// `HTTP_*` for each request header: upper-cased, "-" → "_", repeated
    /// headers joined with ", " ("; " for Cookie). A name with anything but
    /// letters, digits and "-" is left out, as nginx and Apache do: "X_Foo"
    /// would otherwise pass for "X-Foo" (both are HTTP_X_FOO).
    static func headerVariables(_ headers: HTTPHeaders) -> [(String, String)] {
        var order: [String] = []
        var values: [String: String] = [:]
        for (name, value) in headers {
            let lowered = name.lowercased()
            guard !excludedHeaders.contains(lowered), !name.isEmpty,
                  name.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else { continue }
            let variable = "HTTP_" + String(decoding: name.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : uppercased($0) },
                                            as: UTF8.self)
            if let existing = values[variable] {
                values[variable] = existing + (lowered == "cookie" ? "; " : ", ") + value
            } else {
                order.append(variable)
                values[variable] = value
            }
        }
        return order.map { ($0, values[$0]!) }
    }

    /// The Host header's (or an absolute-form target's) name without its port, lower-cased; without one, the
    /// vhost's first name, else the address the request came in on.
    package static func serverName(host: String?, request: Request) -> String {
        if let host, !host.isEmpty {
            if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
                return String(host[...close]).lowercased()
            }
            return String(host.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]).lowercased()
        }
        if let name = request.site.vhost.names.first(where: { !$0.description.contains("*") }) {
            return name.description
        }
        return request.localAddress?.ipAddress ?? ""
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func uppercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
    }
}
