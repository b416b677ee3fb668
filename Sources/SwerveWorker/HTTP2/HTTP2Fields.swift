import NIOHTTP1

/// Response header fields as HTTP/2 wants them (RFC 9113 §8.2): lower-case
/// names, no hop-by-hop headers, `:status` first.
package enum HTTP2Fields {
    /// Hop-by-hop headers, which HTTP/2 forbids (RFC 9113 §8.2.2).
    package static func isConnectionSpecific(_ name: String) -> Bool {
        switch name.utf8.count {
        case 7: return name.isASCIICaseInsensitiveEqual("upgrade")
        case 10: return name.isASCIICaseInsensitiveEqual("connection") || name.isASCIICaseInsensitiveEqual("keep-alive")
        case 16: return name.isASCIICaseInsensitiveEqual("proxy-connection")
        case 17: return name.isASCIICaseInsensitiveEqual("transfer-encoding")
        default: return false
        }
    }

    /// HTTP/2 field names are lower case; most of ours already are.
    package static func lowercased(_ name: String) -> String {
        name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) ? name.lowercased() : name
    }

    private static let commonStatuses: [UInt: String] = Dictionary(uniqueKeysWithValues:
        [200, 201, 204, 206, 301, 302, 303, 304, 307, 308, 400, 403, 404, 405, 408, 413, 416, 431, 500, 502, 503, 504]
            .map { (UInt($0), String($0)) })

    package static func statusText(_ status: HTTPResponseStatus) -> String {
        commonStatuses[status.code] ?? String(status.code)
    }

}
