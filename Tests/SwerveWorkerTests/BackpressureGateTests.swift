import SwerveWorker
import Testing

/// The one backpressure rule: pause above the high mark, resume below the low one.
@Suite struct BackpressureGateTests {
    final class Producer {
        var events: [String] = []
    }

    private func gate(_ marks: BackpressureGate.Watermarks, _ producer: Producer) -> BackpressureGate {
        BackpressureGate(marks, pause: { producer.events.append("pause") }, resume: { producer.events.append("resume") })
    }

    @Test func pausesAboveHighAndResumesBelowLowOnce() {
        let producer = Producer()
        let gate = gate(.init(high: 100, low: 40), producer)
        gate.queued(60)
        gate.queued(40)
        #expect(producer.events.isEmpty, "at the mark is not above it")
        gate.queued(1)
        gate.queued(50)
        #expect(producer.events == ["pause"])
        gate.consumed(60)
        #expect(producer.events == ["pause"], "91 left: between the marks")
        gate.consumed(60)
        #expect(producer.events == ["pause", "resume"])
        #expect(!gate.isPaused && gate.queuedBytes == 31)
    }

    @Test func slicesCountWhereTheyAreLimited() {
        let producer = Producer()
        let gate = gate(.init(high: 1 << 20, low: 1 << 19, highSlices: 3, lowSlices: 2), producer)
        for _ in 0..<4 { gate.queued(1) }
        #expect(producer.events == ["pause"], "four tiny slices hold four buffers")
        gate.consumed(2, slices: 2)
        #expect(producer.events == ["pause"], "two slices left: not below two")
        gate.consumed(1)
        #expect(producer.events == ["pause", "resume"])
    }

    @Test func openingResumesAndCountsNoMore() {
        let producer = Producer()
        let gate = gate(.pipe, producer)
        gate.queued(BackpressureGate.Watermarks.pipe.high + 1)
        gate.open()
        #expect(producer.events == ["pause", "resume"])
        gate.queued(10 << 20)
        gate.consumed(5)
        #expect(producer.events == ["pause", "resume"], "an open gate never pauses again")
        #expect(gate.isOpen && gate.queuedBytes == 0)
    }

    @Test func openingAGateThatNeverPausedResumesNothing() {
        let producer = Producer()
        let gate = gate(.disk, producer)
        gate.queued(10)
        gate.open()
        #expect(producer.events.isEmpty)
    }
}
