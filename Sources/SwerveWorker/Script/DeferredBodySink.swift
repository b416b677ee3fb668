import NIOCore

/// Holds a request body back while the responder decides who reads it (a
/// script route looks the file up in the thread pool first), then hands what
/// came, and what comes, to that sink. Event loop only.
package final class DeferredBodySink: RequestBodySink {
    private var target: RequestBodySink?
    private var held: [ByteBuffer] = []
    private var ended = false
    private let response: ResponseWriter
    /// Reading stops while a lot is held; the gate opens at the hand-over.
    private let gate: BackpressureGate
    /// The connection is gone: whoever decides later must not start anything.
    private(set) var isAborted = false

    package init(response: ResponseWriter) {
        self.response = response
        self.gate = BackpressureGate(.pipe, pause: response.pauseReading, resume: response.resumeReading)
    }

    package var wantsBody: Bool { target?.wantsBody ?? true }
    package var decidesLater: Bool { target == nil }

    /// The held parts are being handed over: what arrives meanwhile queues behind them.
    private var handingOver = false

    package func receive(_ part: ByteBuffer) {
        guard let target, !handingOver else {
            held.append(part)
            if target == nil { gate.queued(part.readableBytes) }
            return
        }
        if target.wantsBody { target.receive(part) }
    }

    package func receiveEnd() {
        ended = true
        if !handingOver { target?.receiveEnd() }
    }

    package func abort() {
        isAborted = true
        held = []
        gate.open()
        target?.abort()
    }

    /// From now on `sink` receives the body, starting with what was held.
    package func forward(to sink: RequestBodySink) {
        guard target == nil, !isAborted else { return }
        target = sink
        // Resume first: the new sink may pause reading again while it takes
        // the held parts. Resuming may hand over more at once (HTTP/2 gives a
        // resumed stream the DATA it held): that queues behind what was held
        // here, so the body reaches the sink in order.
        handingOver = true
        gate.open()
        if sink.wantsBody {
            // Decided: a client waiting for 100 Continue may send its body now.
            response.continueIfExpected()
            while !held.isEmpty, !isAborted { sink.receive(held.removeFirst()) }
        }
        held = []
        handingOver = false
        if ended && !isAborted { sink.receiveEnd() }
    }
}
