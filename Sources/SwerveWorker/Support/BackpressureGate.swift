/// Watermarks between a producer and a slower consumer: once more than
/// `high` bytes (or slices) wait for the consumer the producer is paused, and
/// it resumes when they fall below `low`. The one place this rule lives:
/// an upload's body waiting for the disk, a body waiting for a script's
/// stdin (or for the responder to decide), a script's output waiting for the
/// client. Event loop only.
package final class BackpressureGate {
    package struct Watermarks: Sendable, Equatable {
        package var high: Int
        package var low: Int
        /// Slices counted too where each holds a buffer alive (a read's worth
        /// of memory for a few bytes); unlimited elsewhere.
        package var highSlices = Int.max
        package var lowSlices = Int.max

        package init(high: Int, low: Int, highSlices: Int = .max, lowSlices: Int = .max) {
            self.high = high
            self.low = low
            self.highSlices = highSlices
            self.lowSlices = lowSlices
        }

        /// A request body on its way to a script or held for a decision; a
        /// script's output on its way to the client.
        package static let pipe = Watermarks(high: 256 << 10, low: 64 << 10)
        /// An upload's content on its way to the disk.
        package static let disk = Watermarks(high: 2 << 20, low: 1 << 20, highSlices: 4096, lowSlices: 1024)
    }

    package let watermarks: Watermarks
    package private(set) var queuedBytes = 0
    package private(set) var queuedSlices = 0
    package private(set) var isPaused = false
    /// The consumer is gone: nothing is counted and the producer runs free.
    package private(set) var isOpen = false
    private let pause: () -> Void
    private let resume: () -> Void

    package init(_ watermarks: Watermarks, pause: @escaping () -> Void, resume: @escaping () -> Void) {
        self.watermarks = watermarks
        self.pause = pause
        self.resume = resume
    }

    /// Bytes handed to the consumer; pauses the producer above the high mark.
    package func queued(_ bytes: Int, slices: Int = 1) {
        guard !isOpen else { return }
        queuedBytes += bytes
        queuedSlices += slices
        if !isPaused && (queuedBytes > watermarks.high || queuedSlices > watermarks.highSlices) {
            isPaused = true
            pause()
        }
    }

    /// Bytes the consumer took; resumes the producer below the low mark.
    package func consumed(_ bytes: Int, slices: Int = 1) {
        guard !isOpen else { return }
        queuedBytes -= bytes
        queuedSlices -= slices
        if isPaused && queuedBytes < watermarks.low && queuedSlices < watermarks.lowSlices {
            isPaused = false
            resume()
        }
    }

    /// The consumer takes no more (it closed, failed, or was handed on): the
    /// producer resumes if paused and is never paused by this gate again.
    package func open() {
        guard !isOpen else { return }
        isOpen = true
        queuedBytes = 0
        queuedSlices = 0
        if isPaused {
            isPaused = false
            resume()
        }
    }
}
