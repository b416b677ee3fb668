/// Which content codings an `Accept-Encoding` header allows (RFC 9110 §12.5.3):
/// a coding is acceptable when listed (or covered by `*`) with q > 0.
package enum AcceptEncoding {
    package static func accepts(_ header: String?, _ coding: String) -> Bool {
        guard let header else { return false }
        var wildcard: Bool?
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard let name = parts.first?.trimmingSpaces.lowercased() else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmingSpaces.lowercased() == "q" {
                    quality = Double(pair[1].trimmingSpaces) ?? 0
                }
            }
            if name == coding { return quality > 0 }
            if name == "*" { wildcard = quality > 0 }
        }
        return wildcard ?? false
    }
}
