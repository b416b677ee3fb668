import Logging
import NIOCore
import NIOHTTP1
import SwerveConfig

/// A script's stdout on its way to the client: the CGI header block parsed
/// into the response's head (or a fixed head for `output: body`), the body
/// streamed as it is written and cut at the script's Content-Length, the
/// pipe left to fill while the client is behind. Event loop only, hence
/// `@unchecked Sendable` (its flush is an event-loop task).
final class ScriptOutput: @unchecked Sendable {
    private enum State {
        /// `output: cgi`, before the header block's empty line.
        case headBlock(CGIHeaderParser)
        /// `output: body`, nothing written yet.
        case bodyNotStarted
        /// The head is out; `remaining`: what the script's Content-Length still allows.
        case body(remaining: Int?)
        /// The response is no longer this output's: sent in full, failed,
        /// timed out, or a local redirect that the run follows.
        case done
    }

    private var state: State
    private let settings: CGIRun.Settings
    private let scriptName: String
    let response: ResponseWriter
    /// A local `Location` (RFC 3875 §6.2.2): the run follows it when the script is done.
    private let redirected: (String) -> Void
    /// The pipe's channel, paused while too much waits for the client.
    var stdout: Channel?
    private lazy var gate = BackpressureGate(.pipe, pause: { [unowned self] in
        // The client reads slower than the script writes: let the pipe fill, the script blocks.
        stdout?.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
    }, resume: { [unowned self] in
        stdout?.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        stdout?.read()
    })
    private var flushScheduled = false

    init(scriptName: String, settings: CGIRun.Settings, response: ResponseWriter, redirected: @escaping (String) -> Void) {
        self.scriptName = scriptName
        self.settings = settings
        self.response = response
        self.redirected = redirected
        state = settings.output == .cgi ? .headBlock(CGIHeaderParser()) : .bodyNotStarted
    }

    /// Whether this output still answers the request.
    var answers: Bool {
        if case .done = state { return false }
        return true
    }

    /// The run answers otherwise (a timeout's 504, a client gone): output is dropped from now on.
    func stop() {
        state = .done
    }

    func read(_ buffer: ByteBuffer) {
        switch state {
        case .headBlock(var parser):
            let outcome = parser.feed(buffer)
            state = .headBlock(parser)
            switch outcome {
            case .needMore:
                break
            case .malformed(let reason):
                badGateway("malformed header block: \(reason)")
            case .head(let head, let body):
                if case .localRedirect(let location) = head.kind {
                    state = .done
                    redirected(location)
                    return
                }
                sendHead(head)
                if body.readableBytes > 0 { forward(body) }
            }
        case .bodyNotStarted:
            sendBodyOutputHead()
            state = .body(remaining: nil)
            forward(buffer)
        case .body:
            forward(buffer)
        case .done:
            break
        }
    }

    /// stdout reached EOF.
    func ended() {
        switch state {
        case .headBlock(var parser):
            if case .malformed(let reason) = parser.end() { badGateway("malformed header block: \(reason)") }
        case .bodyNotStarted:
            break  // an empty page or a failure: the exit status decides (`settle`)
        case .body(let remaining):
            state = .done
            if let remaining, remaining > 0 {
                settings.logger.error("script \(scriptName): output ended \(remaining) bytes short of its Content-Length")
                response.sendError(.badGateway)  // the head is out: this closes the connection
                return
            }
            response.end()
        case .done:
            break
        }
    }

    /// The script exited and its stdout ended: `output: body` that wrote
    /// nothing is an empty page, unless the script failed.
    func settle(exit: ChildReaper.ExitStatus) {
        guard case .bodyNotStarted = state else { return }
        state = .done
        if exit.isSuccess {
            sendBodyOutputHead()
            response.end()
        } else {
            response.sendError(.badGateway)
        }
    }

    private func sendBodyOutputHead() {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: settings.contentType ?? "text/html; charset=utf-8")
        response.sendHead(.ok, headers: headers)
    }

    private func sendHead(_ head: CGIResponseHead) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 1)
        for (name, value) in head.headers { headers.add(name: name, value: value) }
        if let contentType = settings.contentType, !headers.contains(name: "content-type"),
           HTTPResponseStatus(statusCode: head.status).mayHaveResponseBody {
            headers.add(name: "Content-Type", value: contentType)
        }
        let status = head.reason.map { HTTPResponseStatus(statusCode: head.status, reasonPhrase: $0) }
            ?? HTTPResponseStatus(statusCode: head.status)
        if settings.isHead {
            state = .body(remaining: nil)  // nothing is sent; a Content-Length describes the GET
        } else if !status.mayHaveResponseBody {
            state = .body(remaining: 0)  // 204, 304: any output would be read as the next response
        } else {
            state = .body(remaining: head.contentLength)
        }
        response.sendHead(status, headers: headers)
    }

    private func forward(_ buffer: ByteBuffer) {
        guard case .body(let left) = state else { return }
        var buffer = buffer
        if let left {
            // Past its Content-Length a script's output is not sent (it would corrupt the next response).
            if buffer.readableBytes > left { buffer = buffer.getSlice(at: buffer.readerIndex, length: left)! }
            state = .body(remaining: left - buffer.readableBytes)
        }
        let count = buffer.readableBytes
        guard count > 0 else { return }
        scheduleFlush()
        gate.queued(count)
        response.streamBody(buffer, flush: false) { [self] _ in gate.consumed(count) }
    }

    /// Output is flushed once the event loop is done with the current events,
    /// not per read: a script that writes and exits at once has its last bytes
    /// and the end of the response leave in one segment.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        response.eventLoop.execute { [self] in
            flushScheduled = false
            response.flush()
        }
    }

    private func badGateway(_ reason: String) {
        state = .done
        settings.logger.error("script \(scriptName): \(reason)")
        response.sendError(.badGateway)
    }
}
