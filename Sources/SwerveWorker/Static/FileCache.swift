import NIOCore

/// Recent static lookups, kept for one second — nginx's `open_file_cache`
/// in spirit: small files are served from memory and missing ones answered
/// without a trip to the thread pool. One second bounds how long an edited
/// file can be served stale. Bounded in entries and bytes; confined to the
/// worker's event loop.
final class FileCache: @unchecked Sendable {
    struct Key: Hashable {
        var path: String
        var wantsDirectory: Bool
        /// The precompressed codings the client accepts, e.g. "br,gzip".
        var encodings: String
    }

    private struct Entry {
        var outcome: FileLookup.Outcome
        var expires: Int
    }

    static let validSeconds = 1
    private let maxEntries: Int
    private let maxBytes: Int
    private var entries: [Key: Entry] = [:]
    private var bytes = 0

    init(maxEntries: Int = 4096, maxBytes: Int = 32 << 20) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    func get(_ key: Key, now: Int) -> FileLookup.Outcome? {
        guard let entry = entries[key] else { return nil }
        guard entry.expires > now else {
            remove(key)
            return nil
        }
        return entry.outcome
    }

    /// Caches in-memory files and negative answers; open descriptors and listings are never cached.
    func put(_ outcome: FileLookup.Outcome, for key: Key, now: Int) {
        let size: Int
        switch outcome {
        case .content(let content): size = content.bytes.readableBytes
        case .notFound, .directoryWithoutSlash: size = 0
        case .file, .listing, .forbidden, .outOfDescriptors: return
        }
        remove(key)
        if entries.count >= maxEntries || bytes + size > maxBytes { evictExpiredOrAll(now: now) }
        guard bytes + size <= maxBytes else { return }
        entries[key] = Entry(outcome: outcome, expires: now + Self.validSeconds)
        bytes += size
    }

    private func remove(_ key: Key) {
        if let old = entries.removeValue(forKey: key), case .content(let content) = old.outcome {
            bytes -= content.bytes.readableBytes
        }
    }

    /// Everything is at most a second old, so when full a clean sweep costs little.
    private func evictExpiredOrAll(now: Int) {
        for (key, entry) in entries where entry.expires <= now { remove(key) }
        if entries.count >= maxEntries || bytes > maxBytes / 2 {
            entries.removeAll(keepingCapacity: true)
            bytes = 0
        }
    }
}
