import NIOCore

/// Holds a request body back while the responder decides who reads it (a
/// script route looks the file up in the thread pool first), then hands what
/// came, and what comes, to that sink. Event loop only.
final class DeferredBodySink: RequestBodySink {
    private var target: RequestBodySink?
    private var held: [ByteBuffer] = []
    private var ended = false
    private let response: ResponseWriter
    /// Reading stops while a lot is held; the gate opens at the hand-over.
    private let gate: BackpressureGate
    /// The connection is gone: whoever decides later must not start anything.
    private(set) var isAborted = false

    init(response: ResponseWriter) {
        self.response = response
        self.gate = BackpressureGate(.pipe, pause: response.pauseReading, resume: response.resumeReading)
    }

    var wantsBody: Bool { target?.wantsBody ?? true }
    var decidesLater: Bool { target == nil }

    func receive(_ part: ByteBuffer) {
        guard let target else {
            held.append(part)
            gate.queued(part.readableBytes)
            return
        }
        if target.wantsBody { target.receive(part) }
    }

    func receiveEnd() {
        ended = true
        target?.receiveEnd()
    }

    func abort() {
        isAborted = true
        held = []
        gate.open()
        target?.abort()
    }

    /// From now on `sink` receives the body, starting with what was held.
    func forward(to sink: RequestBodySink) {
        guard target == nil, !isAborted else { return }
        target = sink
        let parts = held
        held = []
        // Resume first: the new sink may pause reading again while it takes the held parts.
        gate.open()
        if sink.wantsBody {
            // Decided: a client waiting for 100 Continue may send its body now.
            response.continueIfExpected()
            parts.forEach(sink.receive)
        }
        if ended { sink.receiveEnd() }
    }
}
