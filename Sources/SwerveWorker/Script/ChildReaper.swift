import Dispatch
import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// Reaps every script the worker starts, so no zombie is ever left, and
/// tells the script's run how it ended — on the event loop.
///
/// One thread blocks in `waitpid(-1)`: SIGCHLD would have to share the
/// worker's signal handling with libdispatch, and pidfds cannot be watched
/// through NIO's public API. A semaphore counts the children not yet reaped,
/// so the thread only waits while there is a child to wait for.
final class ChildReaper: @unchecked Sendable {
    private let eventLoop: EventLoop
    private let unreaped = DispatchSemaphore(value: 0)
    /// Set when the worker stops: its event loop takes no more tasks.
    private let stopped = NIOLockedValueBox(false)
    /// Event loop only: what to call when a child exits, by pid.
    private var onExit: [pid_t: (ExitStatus) -> Void] = [:]

    /// How a script ended, as waitpid tells it.
    enum ExitStatus: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        init(waitStatus status: Int32) {
            // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (macros).
            let signal = status & 0x7f
            self = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        }

        var isSuccess: Bool { self == .exited(0) }

        var description: String {
            switch self {
            case .exited(let code): return "exit code \(code)"
            case .signalled(let signal): return "signal \(signal)"
            }
        }
    }

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        DispatchQueue(label: "swerve.child-reaper").async { [self] in reapForever() }
    }

    /// Registers a child just spawned (call on the event loop, right after
    /// posix_spawn: its exit is delivered on the same loop, so never before this).
    func watch(_ pid: pid_t, onExit handler: @escaping (ExitStatus) -> Void) {
        eventLoop.preconditionInEventLoop()
        onExit[pid] = handler
        unreaped.signal()
    }

    /// A fast stop (SPEC §3): kills every running script's process group.
    /// Call on the event loop, before it shuts down.
    func killAll() {
        eventLoop.preconditionInEventLoop()
        stopped.withLockedValue { $0 = true }
        for pid in onExit.keys { CGIProcess.signalGroup(pid, SIGKILL) }
        onExit.removeAll()
    }

    private func reapForever() {
        while true {
            unreaped.wait()
            var status: Int32 = 0
            var reaped: pid_t
            repeat { reaped = waitpid(-1, &status, 0) } while reaped < 0 && errno == EINTR
            guard reaped > 0 else { continue }
            let pid = reaped
            let exit = ExitStatus(waitStatus: status)
            stopped.withLockedValue { stopped in
                guard !stopped else { return }
                eventLoop.execute { [self] in onExit.removeValue(forKey: pid)?(exit) }
            }
        }
    }
}
