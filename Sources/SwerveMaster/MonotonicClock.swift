import Glibc

/// CLOCK_MONOTONIC, the one clock the master and its CLI measure time with
/// (deadlines, back-off, systemd's MONOTONIC_USEC): immune to clock changes.
enum MonotonicClock {
    static var microseconds: UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }

    static var seconds: Double { Double(microseconds) / 1e6 }
}
