import NIOCore
import NIOHTTP1

/// One request and its response, as its connection (HTTP/1.1) or stream
/// (HTTP/2) tracks them: the head, the sink reading its body, the writer
/// answering it, what the access log needs, and on HTTP/1.1 how the
/// response is framed on the wire.
final class Exchange {
    let head: HTTPRequestHead
    let response: ResponseWriter
    var sink: RequestBodySink = DiscardingBodySink.shared
    /// The vhost's first name, for the access log.
    var vhostName = "-"
    /// The vhost's `hsts` value, sent on its TLS responses.
    var hsts: Site.HSTS?
    /// The client sent `Expect: 100-continue` and waits for our 100 before the body.
    var awaitsContinue = false
    var requestEnded = false
    /// What the client sent as its request line, when it could not be parsed.
    var rawRequestLine: String?
    /// HTTP/1.1 only: how the body is framed, and head and small body parts
    /// not written yet (a small response leaves in one write, and one
    /// segment, with its end).
    var framing = ResponseHeadEncoder.Framing.length
    var unwritten: ByteBuffer?

    init(head: HTTPRequestHead, response: ResponseWriter) {
        self.head = head
        self.response = response
    }

    var isHTTP10: Bool { head.version.major == 1 && head.version.minor == 0 }

    /// A request the decoder refused, or whose head never completed: logged
    /// as "GET -" unless the line it came with is known.
    static func placeholderHead() -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: "-")
    }
}

/// A part of a pipelined request held until the response in flight ends.
enum HeldPart {
    case part(HTTPServerRequestPart)
    case error(HTTPResponseStatus, requestLine: String?)
}
