import NIOCore
import NIOHTTP1
import SwerveWorker
import Testing

/// The connection's life, event by event, on a fake clock: every timer,
/// pipelining order, drain, a client's FIN, lingering, every refusal path.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    static let timeouts = Machine.Timeouts(header: .seconds(10), body: .seconds(60), keepAlive: .seconds(15), send: .seconds(60))

    /// A fake clock: seconds since an arbitrary start.
    struct Clock {
        var seconds: Int64 = 1000
        var now: NIODeadline { .uptimeNanoseconds(UInt64(seconds) * 1_000_000_000) }
        mutating func advance(_ by: Int64) { seconds += by }
        func at(_ offset: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(seconds + offset) * 1_000_000_000) }
    }

    var clock = Clock()
    var machine = Machine(timeouts: timeouts)

    init() {
        machine.connected(now: clock.now)
    }

    /// A GET served at once (the response ends before the decoder delivers the request's end).
    private mutating func get(keepAlive: Bool = true) -> Machine.ResponseEndAction {
        machine.bytesArrived(now: clock.now)
        #expect(machine.headReceived(keepAlive: keepAlive, now: clock.now) == .start)
        machine.requestStarted(expectsBody: false, bodyLimit: .max, reads: false, now: clock.now)
        machine.responseHeadSent(keepAlive: true)
        let end = machine.responseEnded(now: clock.now)
        if end == .drainRequestBody {
            #expect(machine.endReceived(now: clock.now) == .deliverAndFinish(toSink: true))
            #expect(machine.next(now: clock.now) == .wait)
        }
        return end
    }

    // MARK: timers

    @Test mutating func aFreshConnectionGetsTheHeaderTimeout() {
        #expect(machine.timer == .init(kind: .header, deadline: clock.at(10)))
        clock.advance(10)
        #expect(machine.timerFired(now: clock.now) == .close, "a connection that never spoke is closed")
    }

    @Test mutating func aHeadBegunButLateGets408() {
        machine.bytesArrived(now: clock.now)
        clock.advance(10)
        #expect(machine.timerFired(now: clock.now) == .respondTimeout)
        machine.responseHeadSent(keepAlive: false)
        #expect(machine.responseEnded(now: clock.now) == .closeAfterWrite(linger: true), "the rest of the head is unread")
    }

    @Test mutating func anEarlyTickChangesNothing() {
        clock.advance(5)
        #expect(machine.timerFired(now: clock.now) == .none)
        #expect(machine.timer?.kind == .header)
    }

    @Test mutating func keepAliveThenTheHeaderTimeoutOnceBytesArrive() {
        #expect(get() == .drainRequestBody)
        #expect(machine.timer == .init(kind: .send, deadline: clock.at(60)), "the response is still in our buffers")
        machine.responseHandedOver(now: clock.now)
        #expect(machine.timer == .init(kind: .keepAlive, deadline: clock.at(15)))
        clock.advance(14)
        machine.bytesArrived(now: clock.now)
        #expect(machine.timer == .init(kind: .header, deadline: clock.at(10)))
    }

    @Test mutating func anIdleKeepAliveConnectionClosesPlainly() {
        _ = get()
        machine.responseHandedOver(now: clock.now)
        clock.advance(15)
        #expect(machine.timerFired(now: clock.now) == .close)
    }

    @Test mutating func aSlowDownloadIsBoundByTheSendTimeoutNotTheKeepAlive() {
        _ = get()
        clock.advance(30)
        #expect(machine.timerFired(now: clock.now) == .none, "the send timeout, not keep-alive, runs")
        machine.sendProgressed(now: clock.now)
        #expect(machine.timer == .init(kind: .send, deadline: clock.at(60)))
        clock.advance(60)
        #expect(machine.timerFired(now: clock.now) == .close)
    }

    @Test mutating func aLateBodyGets408AndALateBodyUnderAResponseCloses() {
        machine.bytesArrived(now: clock.now)
        #expect(machine.headReceived(keepAlive: true, now: clock.now) == .start)
        machine.requestStarted(expectsBody: true, bodyLimit: 100, reads: true, now: clock.now)
        #expect(machine.timer == .init(kind: .body, deadline: clock.at(60)))
        clock.advance(30)
        #expect(machine.bodyReceived(bytes: 10, now: clock.now) == .deliver)
        #expect(machine.timer == .init(kind: .body, deadline: clock.at(60)), "each part restarts it")
        clock.advance(60)
        #expect(machine.timerFired(now: clock.now) == .respondTimeout)

        var streaming = Machine(timeouts: Self.timeouts)
        streaming.connected(now: clock.now)
        _ = streaming.headReceived(keepAlive: true, now: clock.now)
        streaming.requestStarted(expectsBody: true, bodyLimit: 100, reads: true, now: clock.now)
        streaming.responseHeadSent(keepAlive: true)
        clock.advance(60)
        #expect(streaming.timerFired(now: clock.now) == .abortExchange, "a script streams while it reads: it cannot end honestly")
    }

    @Test mutating func theBodyTimeoutWaitsWhileTheResponderPausedReading() {
        _ = machine.headReceived(keepAlive: true, now: clock.now)
        machine.requestStarted(expectsBody: true, bodyLimit: .max, reads: true, now: clock.now)
        machine.readingPaused(true, now: clock.now)
        #expect(machine.timer == nil)
        #expect(!machine.shouldRead)
        clock.advance(600)
        #expect(machine.timerFired(now: clock.now) == .none)
        machine.readingPaused(false, now: clock.now)
        #expect(machine.timer == .init(kind: .body, deadline: clock.at(60)))
        #expect(machine.shouldRead)
    }

    @Test mutating func aResponderPauseEndsWithItsResponse() {
        _ = machine.headReceived(keepAlive: true, now: clock.now)
        machine.requestStarted(expectsBody: true, bodyLimit: .max, reads: true, now: clock.now)
        machine.readingPaused(true, now: clock.now)
        machine.responseHeadSent(keepAlive: true)
        // Answered before the body came in full: the rest is read (and dropped) on the body timer.
        #expect(machine.responseEnded(now: clock.now) == .drainRequestBody)
        #expect(machine.shouldRead)
        #expect(machine.timer == .init(kind: .body, deadline: clock.at(60)))
        #expect(machine.endReceived(now: clock.now) == .deliverAndFinish(toSink: true))
        #expect(machine.next(now: clock.now) == .wait)
        #expect(machine.shouldRead, "the next request is read")
    }

    // MARK: bodies

    @Test mutating func aBodyOverTheLimitIsRefusedOnceThenDiscarded() {
        _ = machine.headReceived(keepAlive: true, now: clock.now)
        machine.requestStarted(expectsBody: true, bodyLimit: 10, reads: true, now: clock.now)
        #expect(machine.bodyReceived(bytes: 8, now: clock.now) == .deliver)
        #expect(machine.bodyReceived(bytes: 8, now: clock.now) == .refuseTooLarge)
        #expect(machine.bodyReceived(bytes: 8, now: clock.now) == .discard)
        #expect(machine.responseMayKeepAlive == false)
        #expect(machine.endReceived(now: clock.now) == .deliver(toSink: false))
    }

    @Test mutating func aBodyNobodyReadsIsDiscardedThenTheNextRequestFollows() {
        _ = machine.headReceived(keepAlive: true, now: clock.now)
        machine.requestStarted(expectsBody: true, bodyLimit: .max, reads: false, now: clock.now)
        machine.responseHeadSent(keepAlive: true)
        #expect(machine.responseEnded(now: clock.now) == .drainRequestBody)
        #expect(machine.timer?.kind == .body, "the unread body is still due")
        #expect(machine.bodyReceived(bytes: 100, now: clock.now) == .discard)
        #expect(machine.endReceived(now: clock.now) == .deliverAndFinish(toSink: true))
        #expect(machine.next(now: clock.now) == .wait)
    }

    // MARK: pipelining

    @Test mutating func pipelinedRequestsWaitTheirTurnWithReadingStopped() {
        machine.bytesArrived(now: clock.now)
        #expect(machine.headReceived(keepAlive: true, now: clock.now) == .start)
        machine.requestStarted(expectsBody: false, bodyLimit: .max, reads: false, now: clock.now)
        #expect(machine.endReceived(now: clock.now) == .deliver(toSink: true))
        machine.bytesArrived(now: clock.now)
        #expect(machine.headReceived(keepAlive: true, now: clock.now) == .queue)
        #expect(machine.endReceived(now: clock.now) == .queue)
        #expect(machine.parserError(.badRequest, now: clock.now) == .queue, "a third, malformed, waits too")
        #expect(!machine.shouldRead)
        machine.responseHeadSent(keepAlive: true)
        #expect(machine.responseEnded(now: clock.now) == .finish)
        #expect(machine.next(now: clock.now) == .replayQueued)
        #expect(machine.shouldRead)
        // The replay: the held request starts, the malformed one waits again.
        #expect(machine.headReceived(keepAlive: true, now: clock.now) == .start)
        #expect(machine.endReceived(now: clock.now) == .deliver(toSink: true))
        #expect(machine.parserError(.badRequest, now: clock.now) == .queue)
        machine.responseHeadSent(keepAlive: true)
        #expect(machine.responseEnded(now: clock.now) == .finish)
        #expect(machine.next(now: clock.now) == .replayQueued)
        #expect(machine.parserError(.badRequest, now: clock.now) == .respond(.badRequest))
        machine.responseHeadSent(keepAlive: false)
        #expect(machine.responseEnded(now: clock.now) == .closeAfterWrite(linger: true))
    }

    @Test mutating func closingWithPipelinedBytesUnreadLingers() {
        machine.bytesArrived(now: clock.now)
        _ = machine.headReceived(keepAlive: false, now: clock.now)
        machine.requestStarted(expectsBody: false, bodyLimit: .max, reads: false, now: clock.now)
        _ = machine.endReceived(now: clock.now)
        machine.bytesArrived(now: clock.now)  // more came after the request
        machine.responseHeadSent(keepAlive: false)
        #expect(machine.responseEnded(now: clock.now) == .closeAfterWrite(linger: true))
    }

    @Test mutating func connectionCloseWithNothingUnreadClosesWithoutLinger() {
        #expect(get(keepAlive: false) == .closeAfterWrite(linger: false))
        #expect(machine.headReceived(keepAlive: true, now: clock.now) == .ignore, "nothing after the close")
    }

    // MARK: drain

    @Test mutating func drainClosesAnIdleKeepAliveConnectionLingering() {
        _ = get()
        machine.responseHandedOver(now: clock.now)
        #expect(machine.drain(now: clock.now) == .closeLingering)
        #expect(machine.timer == .init(kind: .linger, deadline: clock.at(2)))
        clock.advance(2)
        #expect(machine.timerFired(now: clock.now) == .close)
    }

    @Test mutating func drainLetsAFreshConnectionAskItsFirstRequest() {
        #expect(machine.drain(now: clock.now) == .none)
        #expect(machine.timer?.kind == .header)
        machine.bytesArrived(now: clock.now)
        _ = machine.headReceived(keepAlive: true, now: clock.now)
        #expect(machine.responseMayKeepAlive == false, "answered with Connection: close")
    }

    @Test mutating func drainAnswersTheRequestUnderWayThenCloses() {
        _ = machine.headReceived(keepAlive: true, now: clock.now)
        machine.requestStarted(expectsBody: false, bodyLimit: .max, reads: false, now: clock.now)
        #expect(machine.drain(now: clock.now) == .none)
        #expect(machine.responseMayKeepAlive == false)
        machine.responseHeadSent(keepAlive: true)
        #expect(machine.responseEnded(now: clock.now) == .closeAfterWrite(linger: false))
    }

    @Test mutating func drainWaitsForAResponseStillOnItsWay() {
        _ = get()
        #expect(machine.drain(now: clock.now) == .none, "the last response has not left yet")
    }

    // MARK: the client's FIN

    @Test mutating func aFinDuringARequestAbortsIt() {
        _ = machine.headReceived(keepAlive: true, now: clock.now)
        machine.requestStarted(expectsBody: false, bodyLimit: .max, reads: false, now: clock.now)
        _ = machine.endReceived(now: clock.now)
        #expect(machine.inputClosed(now: clock.now) == .abortAndClose)
    }

    @Test mutating func aFinWhileIdleCloses() {
        _ = get()
        machine.responseHandedOver(now: clock.now)
        #expect(machine.inputClosed(now: clock.now) == .close)
    }

    @Test mutating func aFinAfterTheLastResponseLetsItLeave() {
        #expect(get(keepAlive: false) == .closeAfterWrite(linger: false))
        #expect(machine.inputClosed(now: clock.now) == .closeAfterWrite)
    }

    // MARK: refusals

    @Test mutating func aMalformedHeadIsAnsweredThenClosed() {
        machine.bytesArrived(now: clock.now)
        #expect(machine.parserError(.requestHeaderFieldsTooLarge, now: clock.now) == .respond(.requestHeaderFieldsTooLarge))
        #expect(machine.responseMayKeepAlive == false)
    }

    @Test mutating func aMalformedBodyAbortsItsRequest() {
        _ = machine.headReceived(keepAlive: true, now: clock.now)
        machine.requestStarted(expectsBody: true, bodyLimit: .max, reads: true, now: clock.now)
        #expect(machine.parserError(.badRequest, now: clock.now) == .abortAndRespond(.badRequest))

        var streaming = Machine(timeouts: Self.timeouts)
        _ = streaming.headReceived(keepAlive: true, now: clock.now)
        streaming.requestStarted(expectsBody: true, bodyLimit: .max, reads: true, now: clock.now)
        streaming.responseHeadSent(keepAlive: true)
        #expect(streaming.parserError(.badRequest, now: clock.now) == .abortAndClose)
    }

    @Test mutating func nothingHappensAfterTheChannelClosed() {
        machine.closed()
        #expect(machine.headReceived(keepAlive: true, now: clock.now) == .ignore)
        #expect(machine.bodyReceived(bytes: 1, now: clock.now) == .ignore)
        #expect(machine.parserError(.badRequest, now: clock.now) == .ignore)
        #expect(!machine.shouldRead)
        #expect(machine.timer == nil)
    }
}
