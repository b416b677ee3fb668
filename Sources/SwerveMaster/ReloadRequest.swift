import Glibc
import SwerveConfig

/// The client side of the control socket, for `swerve signal reload`: asks
/// the master for a reload and waits for its verdict (SPEC §3.1). Runs in the
/// CLI process, never in the master.
public enum ReloadRequest {
    /// Exit status: 0 reloaded, 1 failed (reasons on stderr), 2 no verdict in `timeout` seconds.
    public static func run(master pid: Int32, timeout: Double) -> Int32 {
        let name = ControlSocket.name(master: pid)
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return fail("cannot create a socket: \(FileSystem.errnoText())") }
        defer { close(fd) }
        var (address, length) = ControlSocket.address(name)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        guard connected == 0 else {
            return fail("cannot reach master \(pid) on its control socket @\(name): \(FileSystem.errnoText()) (--no-wait sends HUP without waiting)")
        }
        let command = Array("reload\n".utf8)
        // A master that refuses this client answers and closes at once, maybe before
        // the command is sent: its answer is read even when the send fails.
        let sendError = send(fd, command, command.count, Int32(MSG_NOSIGNAL)) == command.count ? nil : FileSystem.errnoText()
        var reply: [UInt8] = []
        let deadline = MonotonicClock.seconds + timeout
        while true {
            let left = deadline - MonotonicClock.seconds
            guard left > 0 else {
                writeError("swerve: no verdict from master \(pid) after \(Int(timeout)) s; the reload may still complete (see the error log)\n")
                return 2
            }
            var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollFD, 1, Int32(min(left, 1) * 1000))
            if ready < 0 && errno != EINTR { return fail("poll: \(FileSystem.errnoText())") }
            guard ready > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            reply += buffer[0..<count]
        }
        let lines = String(decoding: reply, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        switch lines.first {
        case "ok":
            let text = lines.dropFirst().filter { !$0.isEmpty }.joined(separator: "\n")
            if !text.isEmpty { writeOutput(text + "\n") }
            return 0
        case "failed":
            writeError("swerve: reload failed; the old configuration keeps serving:\n")
            for line in lines.dropFirst() where !line.isEmpty { writeError("\(line)\n") }
            return 1
        default:
            if let sendError { return fail("cannot send to master \(pid): \(sendError)") }
            return fail("master \(pid) closed the control socket without a verdict")
        }
    }

    private static func fail(_ message: String) -> Int32 {
        writeError("swerve: \(message)\n")
        return 1
    }

    private static func writeOutput(_ text: String) { write(STDOUT_FILENO, text, text.utf8.count) }
    private static func writeError(_ text: String) { write(STDERR_FILENO, text, text.utf8.count) }
}
