import NIOCore
import NIOHTTP1

/// The life of one HTTP/1.1 connection as a pure value: events in, one
/// action out, the connection's timer and whether it should read as state
/// the handler looks at after each event. No I/O, no clock (every event
/// brings `now`), so each rule — keep-alive, the header, body, keep-alive
/// and send timeouts, pipelining order, drain, half-close, lingering close —
/// is unit-tested with a fake clock. `HTTP1Connection` carries the actions
/// out. (NIO's HTTPServerPipelineHandler and Hummingbird's connection state
/// handler are built the same way.)
package struct ConnectionStateMachine: Sendable {
    package private(set) var phase = Phase.idle
    package private(set) var timer: Timer?
    /// Requests begun on this connection (0: a fresh connection).
    package private(set) var requests = 0
    /// Parts of pipelined requests (and a parser error among them) held until
    /// the response in flight ends; reading stops meanwhile.
    package private(set) var queued = 0
    package private(set) var draining = false
    /// The last response's end is written but not yet handed to the socket.
    package private(set) var responseInFlight = false
    /// A responder paused reading (backpressure): the body timeout waits.
    package private(set) var pausedByResponder = false
    /// Input arrived after the request's end (pipelined bytes the close
    /// would discard): ending the connection needs a lingering close.
    package private(set) var inputAfterRequest = false
    private let timeouts: Timeouts

    package init(timeouts: Timeouts) {
        self.timeouts = timeouts
    }

    /// Whether the channel should read now.
    package var shouldRead: Bool {
        switch phase {
        case .closed: return false
        case .closing: return true  // lingering: input is read and dropped
        default: return queued == 0 && !pausedByResponder
        }
    }

    // MARK: events

    /// A fresh connection gets `timeouts.header` for its first request, as nginx.
    package mutating func connected(now: NIODeadline) {
        timer = Timer(kind: .header, deadline: now + timeouts.header)
    }

    /// Raw bytes were read (before decoding).
    package mutating func bytesArrived(now: NIODeadline) {
        switch phase {
        case .idle:
            phase = .readingHead
            if requests > 0 { timer = Timer(kind: .header, deadline: now + timeouts.header) }
        case .exchange(let exchange) where exchange.requestEnded:
            inputAfterRequest = true
        default:
            break
        }
    }

    /// A complete request head. `keepAlive` is what the head asks for.
    package mutating func headReceived(keepAlive: Bool, now: NIODeadline) -> PartAction {
        if queued > 0 { return enqueue() }
        switch phase {
        case .idle, .readingHead:
            requests += 1
            inputAfterRequest = false
            phase = .exchange(Exchange(keepAlive: keepAlive && !draining))
            timer = nil
            return .start
        case .exchange:
            return enqueue()
        case .closing, .closed:
            return .ignore
        }
    }

    /// The responder took the request: its body (if any) is due within the
    /// body timeout; `reads` says whether the responder reads it.
    package mutating func requestStarted(expectsBody: Bool, bodyLimit: Int, reads: Bool, now: NIODeadline) {
        guard case .exchange(var exchange) = phase else { return }
        exchange.bodyLimit = bodyLimit
        exchange.hasBody = expectsBody
        if expectsBody && !exchange.requestEnded {
            exchange.bodyExpected = reads
            if !pausedByResponder { timer = Timer(kind: .body, deadline: now + timeouts.body) }
        }
        phase = .exchange(exchange)
    }

    package mutating func bodyReceived(bytes: Int, now: NIODeadline) -> PartAction {
        if queued > 0 { return enqueue() }
        guard case .exchange(var exchange) = phase, !exchange.requestEnded else { return .ignore }
        exchange.bodyReceived += bytes
        if !pausedByResponder { timer = Timer(kind: .body, deadline: now + timeouts.body) }
        defer { phase = .exchange(exchange) }
        if exchange.bodyRefused { return .discard }
        if exchange.bodyReceived > exchange.bodyLimit {
            exchange.bodyRefused = true
            exchange.keepAlive = false
            return .refuseTooLarge
        }
        return exchange.bodyExpected ? .deliver : .discard
    }

    package mutating func endReceived(now: NIODeadline) -> EndAction {
        if queued > 0 {
            queued += 1
            return .queue
        }
        guard case .exchange(var exchange) = phase, !exchange.requestEnded else { return .ignore }
        exchange.requestEnded = true
        let toSink = !exchange.bodyRefused
        if timer?.kind == .body { timer = nil }
        phase = .exchange(exchange)
        return exchange.responseEnded ? .deliverAndFinish(toSink: toSink) : .deliver(toSink: toSink)
    }

    /// The responder paused or resumed reading (backpressure). Paused, the
    /// body timeout does not run: it counts waiting for the client, not for us.
    package mutating func readingPaused(_ paused: Bool, now: NIODeadline) {
        pausedByResponder = paused
        guard case .exchange(let exchange) = phase, !exchange.requestEnded else { return }
        if paused {
            if timer?.kind == .body { timer = nil }
        } else if exchange.bodyExpected || exchange.bodyRefused {
            timer = Timer(kind: .body, deadline: now + timeouts.body)
        }
    }

    /// Whether the response about to be sent may keep the connection open.
    package var responseMayKeepAlive: Bool {
        guard case .exchange(let exchange) = phase else { return false }
        return exchange.keepAlive && !draining
    }

    /// The response's head is being written; `keepAlive` is what it says.
    package mutating func responseHeadSent(keepAlive: Bool) {
        guard case .exchange(var exchange) = phase else { return }
        exchange.headSent = true
        exchange.keepAlive = exchange.keepAlive && keepAlive
        phase = .exchange(exchange)
    }

    /// The response's end was written (it may still be in our buffers).
    package mutating func responseEnded(now: NIODeadline) -> ResponseEndAction {
        guard case .exchange(var exchange) = phase else { return .closeAfterWrite(linger: true) }
        exchange.responseEnded = true
        responseInFlight = true
        // The responder is done: its pause (a disk or a script behind) ends with it.
        pausedByResponder = false
        if !exchange.keepAlive || draining {
            // Linger only when unread input may exist (as nginx): a body not
            // (fully) read, or pipelined bytes. A GET answered at once has
            // its end still to be decoded, but nothing more to read.
            let linger = (exchange.hasBody && !exchange.requestEnded) || inputAfterRequest || queued > 0
            phase = .closing
            queued = 0
            timer = Timer(kind: .send, deadline: now + timeouts.send)
            return .closeAfterWrite(linger: linger)
        }
        guard exchange.requestEnded else {
            exchange.bodyExpected = false  // the rest is read and dropped
            phase = .exchange(exchange)
            if exchange.hasBody { timer = Timer(kind: .body, deadline: now + timeouts.body) }
            return .drainRequestBody
        }
        phase = .exchange(exchange)
        return .finish
    }

    /// Both the request and its response are complete.
    package mutating func next(now: NIODeadline) -> NextAction {
        phase = .idle
        if queued > 0 {
            queued = 0
            return .replayQueued
        }
        if draining {
            phase = .closing
            timer = Timer(kind: .linger, deadline: now + timeouts.linger)
            return .closeLingering
        }
        timer = responseInFlight
            ? Timer(kind: .send, deadline: now + timeouts.send)
            : Timer(kind: .keepAlive, deadline: now + timeouts.keepAlive)
        return .wait
    }

    /// The last response's end left our buffers (all of it reached the socket).
    package mutating func responseHandedOver(now: NIODeadline) {
        guard responseInFlight else { return }
        responseInFlight = false
        switch phase {
        case .idle where timer?.kind == .send:
            timer = Timer(kind: .keepAlive, deadline: now + timeouts.keepAlive)
        case .closing where timer?.kind == .send:
            timer = Timer(kind: .linger, deadline: now + timeouts.linger)
        default:
            break
        }
    }

    /// The client took some of what waits in our buffers: the send timeout starts over.
    package mutating func sendProgressed(now: NIODeadline) {
        if timer?.kind == .send { timer = Timer(kind: .send, deadline: now + timeouts.send) }
    }

    /// The timer's deadline passed (the handler checks `timer` first).
    package mutating func timerFired(now: NIODeadline) -> TimeoutAction {
        guard let current = timer, now >= current.deadline else { return .none }
        timer = nil
        switch (current.kind, phase) {
        case (.header, .readingHead):
            // The rest of the head (and whatever follows) is unread: the close lingers.
            phase = .exchange(Exchange(keepAlive: false, hasBody: true))
            return .respondTimeout
        case (.header, .idle), (.keepAlive, .idle), (.linger, _), (.send, _):
            // Idle keep-alive connections close plainly, as nginx's; a drain lingers.
            phase = .closing
            return .close
        case (.body, .exchange(var exchange)) where !exchange.requestEnded && !pausedByResponder:
            exchange.keepAlive = false
            phase = .exchange(exchange)
            if exchange.headSent {
                phase = .closing
                return exchange.responseEnded ? .close : .abortExchange
            }
            return .respondTimeout
        default:
            return .none
        }
    }

    /// The worker drains (SPEC §3): an idle keep-alive connection closes
    /// cleanly now; a fresh one still gets its first request (with
    /// `Connection: close`); a request under way is answered, then the
    /// connection ends.
    package mutating func drain(now: NIODeadline) -> DrainAction {
        draining = true
        switch phase {
        case .idle where requests > 0 && !responseInFlight:
            phase = .closing
            timer = Timer(kind: .linger, deadline: now + timeouts.linger)
            return .closeLingering
        case .exchange(var exchange):
            exchange.keepAlive = false
            phase = .exchange(exchange)
            return .none
        default:
            return .none
        }
    }

    /// The client shut down its side (EOF). A client that sends FIN while
    /// its request is being answered has gone away, as browsers do when a
    /// tab closes: its responder is told to stop (as nginx aborts upstreams).
    package mutating func inputClosed(now: NIODeadline) -> InputClosedAction {
        switch phase {
        case .exchange(let exchange) where !exchange.responseEnded:
            phase = .closing
            timer = nil
            return .abortAndClose
        case .closing where responseInFlight:
            return .closeAfterWrite
        default:
            phase = .closing
            timer = nil
            return .close
        }
    }

    package mutating func parserError(_ status: HTTPResponseStatus, now: NIODeadline) -> ErrorAction {
        if queued > 0 { return enqueue() == .queue ? .queue : .ignore }
        switch phase {
        case .idle, .readingHead:
            // What follows the bad bytes is unread: the close lingers.
            requests += 1
            phase = .exchange(Exchange(keepAlive: false, hasBody: true))
            timer = nil
            return .respond(status)
        case .exchange(var exchange) where !exchange.requestEnded:
            exchange.keepAlive = false
            exchange.requestEnded = true
            if exchange.headSent {
                phase = .closing
                return .abortAndClose
            }
            phase = .exchange(exchange)
            return .abortAndRespond(status)
        case .exchange:
            return enqueue() == .queue ? .queue : .ignore
        case .closing, .closed:
            return .ignore
        }
    }

    /// The channel is gone.
    package mutating func closed() {
        phase = .closed
        timer = nil
        queued = 0
    }

    private mutating func enqueue() -> PartAction {
        guard case .exchange = phase else { return .ignore }
        queued += 1
        return .queue
    }
}
