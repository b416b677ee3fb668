import NIOHTTP2

/// A connection's open streams by ID. At most `maxConcurrentStreams` and
/// usually a handful, so a scan of a plain array of IDs beats hashing: every
/// frame and window event of a stream looks it up.
struct HTTP2StreamTable {
    private var ids: [HTTP2StreamID] = []
    private var streams: [HTTP2Stream] = []

    subscript(id: HTTP2StreamID) -> HTTP2Stream? {
        guard let index = ids.firstIndex(of: id) else { return nil }
        return streams[index]
    }

    mutating func add(_ stream: HTTP2Stream) {
        ids.append(stream.id)
        streams.append(stream)
    }

    mutating func remove(_ id: HTTP2StreamID) -> HTTP2Stream? {
        guard let index = ids.firstIndex(of: id) else { return nil }
        ids.remove(at: index)
        return streams.remove(at: index)
    }

    /// Every stream, the table left empty.
    mutating func removeAll() -> [HTTP2Stream] {
        defer {
            ids.removeAll()
            streams.removeAll()
        }
        return streams
    }

    var all: [HTTP2Stream] { streams }
}
