/// How long to wait before replacing a worker that died. A worker that
/// became ready (it accepted connections, so a request may have killed it)
/// is replaced at once, as nginx does: a request must never be able to buy
/// downtime. One that died before it was ready is broken at start-up — a
/// binary, config or system problem no retry fixes quickly — so its
/// replacement waits 1 s, doubling to 30 s while workers keep dying young:
/// never a fork loop. Pure, for unit tests.
public struct Backoff: Equatable, Sendable {
    /// A worker that lived this long counts as healthy even if it never said ready.
    public static let healthyLifetime = 60.0
    public static let first = 1.0
    public static let maximum = 30.0

    /// Consecutive deaths at start-up.
    public private(set) var failures = 0

    public init() {}

    /// Records a death after `lifetime` seconds and returns the delay before
    /// the replacement. `wasReady`: the worker had told the master it serves.
    public mutating func delay(afterLifetime lifetime: Double, wasReady: Bool) -> Double {
        if wasReady || lifetime >= Self.healthyLifetime {
            failures = 0
            return 0
        }
        failures += 1
        var delay = Self.first
        for _ in 1..<failures where delay < Self.maximum { delay *= 2 }
        return min(delay, Self.maximum)
    }
}
