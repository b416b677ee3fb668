/// The `Location` of `redirect_http`'s 308: the same host (as the client
/// named it, as nginx's `$host`), the vhost's TLS port, the same path and query.
package enum HTTPSRedirect {
    package static func location(host: String, port: Int, uri: String) -> String {
        let authority = port == 443 ? host : "\(host):\(port)"
        return "https://" + authority + pathAndQuery(uri)
    }

    /// Origin-form as it came; absolute-form ("http://host/p?q") loses its scheme and host.
    package static func pathAndQuery(_ uri: String) -> String {
        if uri.hasPrefix("/") { return uri }
        if let scheme = uri.range(of: "://") {
            let rest = uri[scheme.upperBound...]
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                let tail = String(rest[slash...])
                return tail.hasPrefix("/") ? tail : "/" + tail
            }
        }
        return "/"
    }

    /// The Host header's name when it is a plain host name or address;
    /// else the vhost's first exact name; else the address the client reached.
    static func host(_ header: String?, site: Site, local: String?) -> String {
        if let header, let name = HostTable<Int>.normalise(header), isSafe(name) { return name }
        for case .exact(let name) in site.vhost.names { return name }
        guard let local else { return "localhost" }
        return local.contains(":") ? "[\(local)]" : local
    }

    /// Letters, digits, '.', '-', and a bracketed IPv6 address: nothing that
    /// could end the header or change the URL's meaning.
    private static func isSafe(_ name: String) -> Bool {
        name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "[")
                || byte == UInt8(ascii: "]") || byte == UInt8(ascii: ":")
        }
    }
}
