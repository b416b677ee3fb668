/// How long to wait before replacing a worker that died: at once after a
/// long life, else 1 s doubling to 30 s while workers keep dying young, so a
/// broken binary or config never becomes a fork loop. Pure, for unit tests.
public struct Backoff: Equatable, Sendable {
    /// A worker that lived this long is healthy: the next death starts over.
    public static let healthyLifetime = 60.0
    public static let first = 1.0
    public static let maximum = 30.0

    /// Consecutive early deaths.
    public private(set) var failures = 0

    public init() {}

    /// Records a death after `lifetime` seconds and returns the delay before the replacement.
    public mutating func delay(afterLifetime lifetime: Double) -> Double {
        if lifetime >= Self.healthyLifetime {
            failures = 0
            return 0
        }
        failures += 1
        var delay = Self.first
        for _ in 1..<failures where delay < Self.maximum { delay *= 2 }
        return min(delay, Self.maximum)
    }
}
