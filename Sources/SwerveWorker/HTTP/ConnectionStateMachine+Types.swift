import NIOCore
import NIOHTTP1

/// The state the machine keeps, and the actions its events return.
extension ConnectionStateMachine {
    package struct Timeouts: Sendable {
        package var header: TimeAmount
        package var body: TimeAmount
        package var keepAlive: TimeAmount
        package var send: TimeAmount
        /// How long a lingering close discards input before it closes anyway.
        package var linger = TimeAmount.seconds(2)

        package init(header: TimeAmount, body: TimeAmount, keepAlive: TimeAmount, send: TimeAmount) {
            self.header = header
            self.body = body
            self.keepAlive = keepAlive
            self.send = send
        }
    }

    package enum TimerKind: Equatable, Sendable {
        /// A head is due: a fresh connection's first, or one whose bytes began to arrive.
        case header
        /// The request's body is due.
        case body
        /// Idle between requests.
        case keepAlive
        /// A response waits in our buffers for the client to take it.
        case send
        /// Output shut down; input discarded until EOF or this fires.
        case linger
    }

    package struct Timer: Equatable, Sendable {
        package var kind: TimerKind
        package var deadline: NIODeadline

        package init(kind: TimerKind, deadline: NIODeadline) {
            self.kind = kind
            self.deadline = deadline
        }
    }

    /// The request being answered.
    package struct Exchange: Equatable, Sendable {
        /// The connection may carry another request after this one.
        package var keepAlive: Bool
        package var requestEnded = false
        /// The request has a body (a Content-Length above 0, or chunked).
        package var hasBody = false
        package var headSent = false
        package var responseEnded = false
        /// The request has a body still to come that is not read (refused, or
        /// not wanted): it is discarded, and the body timeout still applies.
        package var bodyExpected = false
        package var bodyLimit = Int.max
        package var bodyReceived = 0
        package var bodyRefused = false
    }

    package enum Phase: Equatable, Sendable {
        /// Between requests, no byte of the next head yet.
        case idle
        /// Bytes of a head have arrived; it is not complete.
        case readingHead
        case exchange(Exchange)
        /// Ending: input is ignored; output is being shut down (lingering) or closed.
        case closing
        case closed
    }

    // MARK: actions

    package enum PartAction: Equatable, Sendable {
        /// Route the head and hand it to a responder (then `requestStarted`).
        case start
        /// Hand the body part (or the end) to the request's sink.
        case deliver
        /// Drop it: a body nobody reads.
        case discard
        /// The body went over its limit just now: refuse with 413 (the sink is let go).
        case refuseTooLarge
        /// A pipelined part: hold it until the response in flight ends.
        case queue
        case ignore
    }

    package enum EndAction: Equatable, Sendable {
        /// Tell the sink the body is complete (unless it was refused).
        case deliver(toSink: Bool)
        /// …and the response has already ended: the exchange is over (see `next`).
        case deliverAndFinish(toSink: Bool)
        case queue
        case ignore
    }

    package enum ResponseEndAction: Equatable, Sendable {
        /// The exchange is over and the connection stays: go on with `next`.
        case finish
        /// The response ends while its request's body still comes: keep reading, dropping it.
        case drainRequestBody
        /// No further request on this connection: close once the end has left
        /// (lingering, when unread input may remain).
        case closeAfterWrite(linger: Bool)
    }

    package enum NextAction: Equatable, Sendable {
        /// Replay the held parts of the next pipelined request.
        case replayQueued
        /// Nothing to do until bytes arrive (the keep-alive timer runs).
        case wait
        /// Draining: this connection is done; close (lingering).
        case closeLingering
    }

    package enum TimeoutAction: Equatable, Sendable {
        case none
        /// Answer 408 to the request whose head or body is late, then close.
        case respondTimeout
        /// The body is late but the response has begun: it cannot end honestly.
        case abortExchange
        /// Close at once (an idle keep-alive connection, a fresh one that never
        /// spoke, a client that took nothing within the send timeout, a
        /// linger that ran out).
        case close
    }

    package enum DrainAction: Equatable, Sendable {
        case none
        case closeLingering
    }

    package enum InputClosedAction: Equatable, Sendable {
        /// Nothing is owed: close.
        case close
        /// A request is being answered: the client went away (nginx's 499);
        /// its responder lets go (a script is killed), then close.
        case abortAndClose
        /// Our last response is written and still on its way: close once it left.
        case closeAfterWrite
    }

    package enum ErrorAction: Equatable, Sendable {
        /// Answer the malformed request with this status, then close.
        case respond(HTTPResponseStatus)
        /// The request under way is malformed (its body): its responder lets go; answer, then close.
        case abortAndRespond(HTTPResponseStatus)
        /// …but its response has begun: close.
        case abortAndClose
        /// A pipelined request is malformed: answered in its turn.
        case queue
        case ignore
    }
}
