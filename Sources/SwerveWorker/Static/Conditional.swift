/// Validators of a file and the conditional-request rules of RFC 9110 §13
/// that a static file server needs: If-None-Match, If-Modified-Since, If-Range.
public struct FileValidators: Equatable, Sendable {
    /// Modification time in whole seconds (HTTP dates have no finer grain).
    public var modified: Int
    public var size: Int

    public init(modified: Int, size: Int) {
        self.modified = modified
        self.size = size
    }

    /// A strong ETag from mtime and size, in nginx's shape: `"5f1e2d3c-400"`.
    public var etag: String {
        "\"\(String(modified, radix: 16))-\(String(size, radix: 16))\""
    }

    public var lastModified: String { HTTPDate.format(modified) }

    /// True when a GET/HEAD may be answered 304 (`etag`: the precomputed tag, to skip formatting it). If-None-Match, when present,
    /// decides alone (RFC 9110 §13.1.3); else If-Modified-Since.
    public func isNotModified(etag: String? = nil, ifNoneMatch: String?, ifModifiedSince: String?) -> Bool {
        if let ifNoneMatch {
            return Self.list(ifNoneMatch, matches: etag ?? self.etag, weak: true)
        }
        if let ifModifiedSince, let date = HTTPDate.parse(ifModifiedSince) {
            return modified <= date
        }
        return false
    }

    /// If-Range holds when its ETag matches strongly, or its date is exactly
    /// Last-Modified; otherwise the Range is ignored and the whole file sent.
    public func ifRangeHolds(_ ifRange: String?, etag: String? = nil) -> Bool {
        guard let value = ifRange?.trimmingSpaces else { return true }
        if value.hasPrefix("\"") || value.hasPrefix("W/") {
            return !value.hasPrefix("W/") && value == etag ?? self.etag
        }
        return HTTPDate.parse(String(value)) == modified
    }

    /// Does a comma-separated entity-tag list (or `*`) match `tag`?
    package static func list(_ header: String, matches tag: String, weak: Bool) -> Bool {
        for item in header.split(separator: ",") {
            var candidate = item.trimmingSpaces
            if candidate == "*" { return true }
            if candidate.hasPrefix("W/") {
                guard weak else { continue }
                candidate = candidate.dropFirst(2)
            }
            if candidate == tag { return true }
        }
        return false
    }
}
