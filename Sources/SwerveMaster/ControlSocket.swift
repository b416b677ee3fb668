import CSwerveShims
import Glibc

/// The master's control socket, on which `swerve signal reload` asks for a
/// reload and waits for its verdict (SPEC §3.1) — what Caddy's admin API and
/// HAProxy's master socket are for. It speaks a line each way and is polled
/// in the master's one loop, so the master stays single-threaded.
///
/// A Unix socket in Linux's abstract namespace, named by the master's pid
/// (`@swerve-master-PID`): whoever knows the master (its pid file, or
/// systemd's `$MAINPID`) can reach it, even after a reload moved the pid
/// file; it leaves no file behind after a crash; and only the master's own
/// user and root are answered (the peer's uid, SO_PEERCRED, is checked on
/// every connection), as a 0600 socket file would allow.
///
/// Protocol: the client sends `reload\n`; the master answers, once the reload
/// it asked for has ended, `ok\n` or `failed\n` followed by message lines,
/// then closes.
public struct ControlSocket {
    let descriptor: Int32

    /// The socket name for the master with `pid`.
    public static func name(master pid: pid_t) -> String { "swerve-master-\(pid)" }

    /// The abstract address for `name`: a leading NUL, then the name (no terminator).
    public static func address(_ name: String) -> (sockaddr_un, socklen_t) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8.prefix(MemoryLayout.size(ofValue: address.sun_path) - 1))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw[0] = 0
            for (index, byte) in bytes.enumerated() { raw[index + 1] = byte }
        }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + 1 + bytes.count
        return (address, socklen_t(length))
    }

    /// Binds this master's control socket.
    static func open() throws(MasterError) -> ControlSocket {
        let name = Self.name(master: getpid())
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        var (address, length) = Self.address(name)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .message("cannot create control socket @\(name): \(String(cString: strerror(code)))")
        }
        return ControlSocket(descriptor: fd)
    }

    /// A client waiting to be accepted, non-blocking; nil when none is.
    /// `allowed` is false for a peer that is neither this user nor root.
    func accept() -> (descriptor: Int32, allowed: Bool)? {
        let fd = Glibc.accept(descriptor, nil, nil)
        guard fd >= 0 else { return nil }
        // Set apart from accept (accept4 is not in Swift's Glibc): no other thread can fork meanwhile.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let peer = swerve_peer_uid(fd)
        return (fd, peer == 0 || peer == Int(getuid()))
    }
}

/// One connection on the control socket: the command it is sending, then
/// (for a reload) the verdict it waits for.
final class ControlClient {
    /// How long a client may take to send its command.
    static let commandTimeout = 2.0

    let descriptor: Int32
    /// When the command must have arrived; the client is dropped after.
    let deadline: Double
    private var received: [UInt8] = []

    init(descriptor: Int32, deadline: Double) {
        self.descriptor = descriptor
        self.deadline = deadline
    }

    enum Reading: Equatable {
        case waiting
        case command(String)
        case gone
    }

    /// Reads what has arrived: the first line once it is whole.
    func read() -> Reading {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = Glibc.read(descriptor, &buffer, buffer.count)
        if count < 0 { return errno == EAGAIN || errno == EINTR ? .waiting : .gone }
        if count == 0 { return .gone }
        received += buffer[0..<count]
        if let end = received.firstIndex(of: UInt8(ascii: "\n")) {
            return .command(String(decoding: received[..<end], as: UTF8.self))
        }
        return received.count > 256 ? .gone : .waiting
    }

    /// Sends the answer and closes. A client that has gone meanwhile is no
    /// error (MSG_NOSIGNAL: no SIGPIPE in the master).
    func answer(_ lines: [String]) {
        let text = Array((lines.joined(separator: "\n") + "\n").utf8)
        var offset = 0
        while offset < text.count {
            let sent = text[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { break }
            offset += sent
        }
        Glibc.close(descriptor)
    }
}
