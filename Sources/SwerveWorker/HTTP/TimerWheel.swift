import NIOCore

/// One clock for all of a worker's connections: a task that ticks every
/// `resolution` and tells each connection whose slot has come. A connection
/// costs no scheduled task of its own (one per connection, armed at accept
/// and cancelled at close, was a measurable share of a short connection's
/// life), and moving a deadline later — every request on a keep-alive
/// connection does — costs nothing: the connection stays in its earlier slot
/// and, when that slot comes, compares with its real deadline. Timeouts are
/// seconds; a tenth of a second late is fine. Event loop only.
package final class TimerWheel: @unchecked Sendable {
    package protocol Client: AnyObject {
        /// `slot` came: the client fires, or arms again for its real deadline.
        /// A client armed since for an earlier slot ignores the old one.
        func timerSlotCame(_ slot: Int64, now: NIODeadline)
    }

    private struct Entry {
        weak var client: Client?
    }

    package static let resolution = TimeAmount.milliseconds(100)
    private let eventLoop: EventLoop
    private let now: @Sendable () -> NIODeadline
    private var slots: [Int64: [Entry]] = [:]
    /// Every slot up to this one has been processed.
    private var processed: Int64?
    private var task: RepeatedTask?

    package init(eventLoop: EventLoop, now: @escaping @Sendable () -> NIODeadline) {
        self.eventLoop = eventLoop
        self.now = now
    }

    /// Arms `client` for `deadline`; returns the slot it is in.
    package func arm(_ client: Client, at deadline: NIODeadline) -> Int64 {
        if task == nil { start() }
        // A deadline already passed goes to the next slot to be processed.
        let slot = max(Self.slot(of: deadline), (processed ?? 0) + 1)
        slots[slot, default: []].append(Entry(client: client))
        return slot
    }

    /// Arms `client` for `deadline` unless it already waits in that slot or
    /// an earlier one (`armed`, updated): moving a deadline later costs
    /// nothing, the earlier slot comes and the client arms again then.
    package func arm(_ client: Client, at deadline: NIODeadline, unlessArmedBefore armed: inout Int64?) {
        if let armed, armed <= Self.slot(of: deadline) { return }
        armed = arm(client, at: deadline)
    }

    /// The earlier of two optional deadlines.
    package static func earliest(_ a: NIODeadline?, _ b: NIODeadline?) -> NIODeadline? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }

    /// The slot a deadline falls in, rounded up: a timer never fires early.
    package static func slot(of deadline: NIODeadline) -> Int64 {
        let step = resolution.nanoseconds
        return (Int64(deadline.uptimeNanoseconds) + step - 1) / step
    }

    private func start() {
        processed = Int64(now().uptimeNanoseconds) / Self.resolution.nanoseconds
        task = eventLoop.scheduleRepeatedTask(initialDelay: Self.resolution, delay: Self.resolution) { [weak self] _ in
            self?.tick()
        }
    }

    /// Processes every slot that has come, in order.
    package func tick() {
        let current = now()
        let due = Int64(current.uptimeNanoseconds) / Self.resolution.nanoseconds
        let from = (processed ?? due) + 1
        guard due >= from else { return }
        processed = due
        // Usually one slot; after a stall, only the slots that hold entries.
        let slotsDue = due - from < Int64(slots.count) ? Array(from...due) : slots.keys.filter { $0 <= due }.sorted()
        for slot in slotsDue {
            guard let entries = slots.removeValue(forKey: slot) else { continue }
            for entry in entries { entry.client?.timerSlotCame(slot, now: current) }
        }
    }

    package func stop() {
        task?.cancel()
        task = nil
        slots.removeAll()
    }
}
