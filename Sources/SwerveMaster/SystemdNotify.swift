import Glibc

/// sd_notify without libsystemd: one datagram to `$NOTIFY_SOCKET` per state
/// change (a path, or an abstract socket when it starts with "@").
/// Silent when not run by systemd.
struct SystemdNotify {
    private let address: String?

    init(environment: String? = getenv("NOTIFY_SOCKET").map { String(cString: $0) }) {
        address = environment.flatMap { $0.isEmpty ? nil : $0 }
    }

    var isActive: Bool { address != nil }

    func send(_ message: String) {
        guard let address else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var target = sockaddr_un()
        target.sun_family = sa_family_t(AF_UNIX)
        var path = Array(address.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // abstract namespace
        let capacity = MemoryLayout.size(ofValue: target.sun_path)
        guard path.count < capacity else { return }
        withUnsafeMutableBytes(of: &target.sun_path) { raw in
            raw.copyBytes(from: path)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        var bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bytes.withUnsafeMutableBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
            }
        }
    }

    /// CLOCK_MONOTONIC in microseconds, for `MONOTONIC_USEC=` with `RELOADING=1`.
    static func monotonicMicroseconds() -> UInt64 { MonotonicClock.microseconds }
}
