import NIOCore
import NIOHTTP1

/// HTTP/1.x response heads written straight into a byte buffer: the status
/// line, the responder's headers, then `Server`, `Date`, `Connection` and
/// the framing this connection needs. swerve's own (NIOHTTP1's encoder
/// builds and validates a generic head for each response; every header we
/// send is built from checked values). Framing: a `Content-Length` from the
/// responder, else `Transfer-Encoding: chunked` (HTTP/1.1) or the end of
/// the connection (HTTP/1.0); none for 1xx, 204 and 304 and for HEAD.
package enum ResponseHeadEncoder {
    package enum Framing: Equatable, Sendable {
        /// A Content-Length frames the body (or there is none).
        case length
        /// The body goes out in chunks.
        case chunked
        /// The body ends when the connection does (HTTP/1.0 without a length).
        case close
    }

    /// Decides a response's framing: `mayKeepAlive` comes in, and goes out
    /// false where the body can only end with the connection.
    package static func framing(status: HTTPResponseStatus, headers: HTTPHeaders, isHTTP10: Bool,
                                isHead: Bool, mayKeepAlive: inout Bool) -> Framing {
        if !status.mayHaveResponseBody || isHead || headers.contains(name: "content-length") { return .length }
        if isHTTP10 {
            mayKeepAlive = false
            return .close
        }
        return .chunked
    }

    /// Writes the head. `dateLine` is "Date: …\r\n" (cached per second);
    /// `extraLine` a whole header line the server adds (HSTS over TLS).
    package static func write(status: HTTPResponseStatus, headers: HTTPHeaders, extraLine: String? = nil,
                              isHTTP10: Bool, keepAlive: Bool, framing: Framing, dateLine: String,
                              into buffer: inout ByteBuffer) {
        writeStatusLine(status, isHTTP10: isHTTP10, into: &buffer)
        writeHeaders(headers, into: &buffer)
        if let extraLine { buffer.writeString(extraLine) }
        writeEnd(isHTTP10: isHTTP10, keepAlive: keepAlive, framing: framing, dateLine: dateLine, into: &buffer)
    }

    /// "HTTP/1.1 200 OK\r\n".
    package static func writeStatusLine(_ status: HTTPResponseStatus, isHTTP10: Bool, into buffer: inout ByteBuffer) {
        buffer.writeString(isHTTP10 ? "HTTP/1.0 " : "HTTP/1.1 ")
        writeStatus(status, into: &buffer)
    }

    /// "Name: value\r\n" for each header.
    package static func writeHeaders(_ headers: HTTPHeaders, into buffer: inout ByteBuffer) {
        for (name, value) in headers {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
    }

    /// What every head ends with: `Server`, `Date`, `Connection` and the
    /// framing this connection needs, then the empty line.
    package static func writeEnd(isHTTP10: Bool, keepAlive: Bool, framing: Framing, dateLine: String,
                                 into buffer: inout ByteBuffer) {
        buffer.writeStaticString("Server: swerve\r\n")
        buffer.writeString(dateLine)
        if !keepAlive {
            buffer.writeStaticString("Connection: close\r\n")
        } else if isHTTP10 {
            buffer.writeStaticString("Connection: keep-alive\r\n")
        }
        if framing == .chunked { buffer.writeStaticString("Transfer-Encoding: chunked\r\n") }
        buffer.writeStaticString("\r\n")
    }

    /// "200 OK\r\n", with the standard reason phrase (or the responder's).
    package static func writeStatus(_ status: HTTPResponseStatus, into buffer: inout ByteBuffer) {
        switch status {
        case .ok: buffer.writeStaticString("200 OK\r\n")
        case .notModified: buffer.writeStaticString("304 Not Modified\r\n")
        case .notFound: buffer.writeStaticString("404 Not Found\r\n")
        case .partialContent: buffer.writeStaticString("206 Partial Content\r\n")
        default:
            buffer.writeString(String(status.code))
            buffer.writeStaticString(" ")
            buffer.writeString(status.reasonPhrase)
            buffer.writeStaticString("\r\n")
        }
    }

    /// `100 Continue`, for a client that waits for it before its body.
    package static let continueHead = ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")

    /// The size line of a chunk.
    package static func writeChunkHead(size: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString("\r\n")
    }
}
