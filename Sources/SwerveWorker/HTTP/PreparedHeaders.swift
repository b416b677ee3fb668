import NIOCore
import NIOHTTP1

/// Response headers that do not change from one response to the next (a
/// cached file's validators and type, a route's Cache-Control), kept
/// together with their HTTP/1 encoding: a response made of them writes those
/// bytes as they are, with only the `Date` line and the connection's own
/// headers added; an HTTP/2 stream sends `http2` as they are.
package struct PreparedHeaders: Sendable {
    package let headers: HTTPHeaders
    /// "Name: value\r\n" for each header.
    package let http1: ByteBuffer
    /// The same as HTTP/2 fields: lower-case names, no hop-by-hop headers.
    package let http2: [(String, String)]

    package init(_ headers: HTTPHeaders) {
        self.headers = headers
        var buffer = ByteBuffer()
        ResponseHeadEncoder.writeHeaders(headers, into: &buffer)
        http1 = buffer
        http2 = headers.filter { !HTTP2Fields.isConnectionSpecific($0.name) }
            .map { (HTTP2Fields.lowercased($0.name), $0.value) }
    }

    package static let empty = PreparedHeaders([:])
}
