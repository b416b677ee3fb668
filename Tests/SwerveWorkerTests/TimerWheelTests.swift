import NIOCore
import NIOEmbedded
import SwerveWorker
import Testing

/// The worker's shared timer clock on an embedded loop's virtual time.
@Suite struct TimerWheelTests {
    final class Recorder: TimerWheel.Client {
        var came: [(slot: Int64, at: NIODeadline)] = []
        func timerSlotCame(_ slot: Int64, now: NIODeadline) { came.append((slot, now)) }
    }

    let loop = EmbeddedEventLoop()
    let wheel: TimerWheel

    init() {
        let loop = self.loop
        wheel = TimerWheel(eventLoop: loop, now: { loop.now })
    }

    @Test func aClientIsToldNoEarlierThanItsDeadline() {
        let client = Recorder()
        let deadline = loop.now + .milliseconds(250)
        let slot = wheel.arm(client, at: deadline)
        loop.advanceTime(by: .milliseconds(200))
        #expect(client.came.isEmpty)
        loop.advanceTime(by: .milliseconds(100))
        #expect(client.came.count == 1)
        #expect(client.came.first?.slot == slot)
        #expect(client.came.first.map { $0.at >= deadline } == true)
        wheel.stop()
    }

    @Test func aLaterDeadlineKeepsTheEarlierSlotAndAnEarlierOneMoves() {
        let client = Recorder()
        var armed: Int64?
        wheel.arm(client, at: loop.now + .seconds(1), unlessArmedBefore: &armed)
        let first = armed
        wheel.arm(client, at: loop.now + .seconds(5), unlessArmedBefore: &armed)
        #expect(armed == first)
        wheel.arm(client, at: loop.now + .milliseconds(300), unlessArmedBefore: &armed)
        #expect(armed != nil && armed! < first!)
        wheel.stop()
    }

    @Test func earliestOfTwoOptionalDeadlines() {
        let (a, b) = (loop.now + .seconds(1), loop.now + .seconds(2))
        #expect(TimerWheel.earliest(a, b) == a)
        #expect(TimerWheel.earliest(b, a) == a)
        #expect(TimerWheel.earliest(nil, b) == b)
        #expect(TimerWheel.earliest(a, nil) == a)
        #expect(TimerWheel.earliest(nil, nil) == nil)
    }

    @Test func aDeadlineAlreadyPassedComesAtTheNextTick() {
        let client = Recorder()
        _ = wheel.arm(client, at: loop.now + .milliseconds(100))
        loop.advanceTime(by: .milliseconds(100))
        #expect(client.came.count == 1)
        _ = wheel.arm(client, at: loop.now - .seconds(5))
        loop.advanceTime(by: .milliseconds(100))
        #expect(client.came.count == 2)
        wheel.stop()
    }

    @Test func clientsComeInDeadlineOrderAndAFreedClientIsSkipped() {
        let early = Recorder(), late = Recorder()
        var gone: Recorder? = Recorder()
        _ = wheel.arm(late, at: loop.now + .seconds(2))
        _ = wheel.arm(early, at: loop.now + .seconds(1))
        _ = wheel.arm(gone!, at: loop.now + .seconds(1))
        gone = nil
        loop.advanceTime(by: .milliseconds(1100))
        #expect(early.came.count == 1 && late.came.isEmpty)
        loop.advanceTime(by: .seconds(1))
        #expect(late.came.count == 1 && early.came.count == 1)
        wheel.stop()
    }

    @Test func stoppedWheelTellsNoOne() {
        let client = Recorder()
        _ = wheel.arm(client, at: loop.now + .milliseconds(100))
        wheel.stop()
        loop.advanceTime(by: .seconds(1))
        #expect(client.came.isEmpty)
    }
}
