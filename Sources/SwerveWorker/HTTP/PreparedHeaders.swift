import NIOCore
import NIOHTTP1

/// Response headers that do not change from one response to the next (a
/// cached file's validators and type, a route's Cache-Control), kept
/// together with their HTTP/1 encoding: a response made of them writes those
/// bytes as they are, with only the `Date` line and the connection's own
/// headers added. (An HTTP/2 stream would use `headers`.)
package struct PreparedHeaders: Sendable {
    package let headers: HTTPHeaders
    /// "Name: value\r\n" for each header.
    package let http1: ByteBuffer

    package init(_ headers: HTTPHeaders) {
        self.headers = headers
        var buffer = ByteBuffer()
        ResponseHeadEncoder.writeHeaders(headers, into: &buffer)
        http1 = buffer
    }

    package static let empty = PreparedHeaders([:])
}
