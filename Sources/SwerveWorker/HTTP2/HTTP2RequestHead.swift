import NIOHPACK
import NIOHTTP1

/// A request's HEADERS as the HTTP/1-shaped head the shared request path
/// reads (`RequestHeadCheck`, the router, CGI). The library has validated
/// the block already (RFC 9113 §8.3: one `:method`, `:scheme` and `:path`,
/// no connection-specific fields, no CR/LF/NUL); this only maps it:
///
/// - `:authority` becomes `host` (first). `host` fields that all name the
///   same authority are dropped; one that names another makes the request
///   malformed (RFC 9113 §8.3.1), and all are kept, so the shared head
///   check answers 400 as it does for two Host fields in HTTP/1.1 — the
///   request is never routed by a name other than its `:authority`;
/// - `cookie` fields, which HTTP/2 lets a client split, are joined with
///   "; " as RFC 9113 §8.2.3 asks before they reach a script;
/// - a method that may carry a body and declares no length is marked as
///   HTTP/1 would frame it: `content-length: 0` when the HEADERS ended the
///   stream, `transfer-encoding: chunked` otherwise (as NIOHTTP2's own
///   HTTP/1 codec does), so the body limit and the responders see it.
package enum HTTP2RequestHead {
    package static func make(_ fields: HPACKHeaders, endStream: Bool) -> HTTPRequestHead {
        var method = ""
        var path: String?
        var authority: String?
        var regular: [(String, String)] = []
        regular.reserveCapacity(fields.count)
        var hosts = 0
        var hostsNameTheAuthority = true
        var hasLength = false
        var cookies: [String] = []
        for (name, value, _) in fields {
            guard name.utf8.first != UInt8(ascii: ":") else {
                switch name {
                case ":method": method = value
                case ":path": path = value
                case ":authority": authority = value
                default: break
                }
                continue
            }
            switch name {
            case "cookie":
                cookies.append(value)
                continue
            case "host":
                hosts += 1
                // :authority comes first in a valid block (the library checks the order).
                hostsNameTheAuthority = hostsNameTheAuthority && authority.map { sameAuthority(value, $0) } == true
            case "content-length": hasLength = true
            default: break
            }
            regular.append((name, value))
        }
        if !cookies.isEmpty { regular.append(("cookie", cookies.joined(separator: "; "))) }
        if let authority {
            if hosts > 0 && hostsNameTheAuthority { regular.removeAll { $0.0 == "host" } }
            regular.insert(("host", authority), at: 0)
        }
        let httpMethod = HTTPMethod(rawValue: method)
        if !hasLength && mayCarryBody(httpMethod) {
            regular.append(endStream ? ("content-length", "0") : ("transfer-encoding", "chunked"))
        }
        // CONNECT has no :path; the head check refuses it.
        return HTTPRequestHead(version: RequestHeadCheck.http2, method: httpMethod, uri: path ?? authority ?? "",
                               headers: HTTPHeaders(regular))
    }

    /// The same host and port, letters in any case, and ":443" (the https
    /// default) written or not (RFC 9113 §8.3.1 lets an origin server
    /// choose its normalisation).
    static func sameAuthority(_ a: String, _ b: String) -> Bool {
        func normalised(_ text: String) -> Substring {
            let trimmed = Substring(text)
            return trimmed.hasSuffix(":443") ? trimmed.dropLast(4) : trimmed
        }
        return normalised(a).equalsIgnoringASCIICase(normalised(b))
    }

    /// Methods whose requests carry no body by their meaning (RFC 9110 §9.3).
    private static func mayCarryBody(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .DELETE, .CONNECT, .TRACE: return false
        default: return true
        }
    }
}
