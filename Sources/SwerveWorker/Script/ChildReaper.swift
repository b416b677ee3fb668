import Glibc
import NIOCore

/// Reaps the scripts a worker starts and tells each run how its script
/// ended. Event loop only.
///
/// No thread and no SIGCHLD: a run asks for its child to be reaped once the
/// script's stdout reached EOF (or the run killed it), which is when a
/// script exits in practice; `waitpid(pid, WNOHANG)` then succeeds at once
/// or within a few retries (1 ms, doubling to 100 ms). A blocking waitpid
/// thread cost two context switches per script — a tenth of a small
/// script's time on a busy core — and SIGCHLD would have to be shared with
/// libdispatch's signal handling. A script that exits while something it
/// started still holds its stdout is reaped when the run times out and
/// kills the group: no zombie outlives `timeouts.script` by more than the
/// kill grace.
final class ChildReaper: @unchecked Sendable {
    private let eventLoop: EventLoop
    /// The same groups, where the master can read them should this worker be killed.
    private let registry: ScriptRegistry?
    /// What to call when a child is reaped, by pid (also its process group).
    private var onExit: [pid_t: (ExitStatus) -> Void] = [:]
    /// Children being polled for, with the next retry delay.
    private var polling: [pid_t: TimeAmount] = [:]
    /// Process groups of scripts that may still have members (a fast stop kills them).
    private var groups: Set<pid_t> = []

    static let firstRetry = TimeAmount.milliseconds(1)
    static let maxRetry = TimeAmount.milliseconds(100)

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

    init(eventLoop: EventLoop, registry: ScriptRegistry? = nil) {
        self.eventLoop = eventLoop
        self.registry = registry
    }

    /// Registers a child just spawned.
    func watch(_ pid: pid_t, onExit handler: @escaping (ExitStatus) -> Void) {
        eventLoop.preconditionInEventLoop()
        onExit[pid] = handler
        groups.insert(pid)
        registry?.record(pid)
    }

    /// The script's process group is empty (or was SIGKILLed): nothing left to stop.
    func groupGone(_ pid: pid_t) {
        groups.remove(pid)
        registry?.forget(pid)
    }

    /// The child has exited or is about to (its stdout closed, or it was
    /// signalled): reap it now, or poll until it is.
    func reap(_ pid: pid_t) {
        eventLoop.preconditionInEventLoop()
        guard onExit[pid] != nil, polling[pid] == nil else { return }
        polling[pid] = Self.firstRetry
        attempt(pid, again: { [self] in
            // The script is usually exiting as its stdout closes: try again once the
            // loop is done with what is ready now, before falling back to timers.
            eventLoop.assumeIsolated().execute { [self] in attempt(pid, again: nil) }
        })
    }

    private func attempt(_ pid: pid_t, again: (() -> Void)? = nil) {
        guard let delay = polling[pid] else { return }
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, WNOHANG) } while result < 0 && errno == EINTR
        if result == pid || (result < 0 && errno == ECHILD) {
            polling[pid] = nil
            let exit = result == pid ? ExitStatus(waitStatus: status) : .signalled(SIGKILL)
            onExit.removeValue(forKey: pid)?(exit)
            return
        }
        if let again {
            again()
            return
        }
        polling[pid] = min(delay * 2, Self.maxRetry)
        eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in attempt(pid) }
    }

    /// A fast stop (SPEC §3): kills every running script's process group and
    /// reaps what has already exited — without waiting: the event loop never
    /// blocks, and the worker exits next (init inherits what is left).
    func killAll() {
        eventLoop.preconditionInEventLoop()
        for pid in groups.union(onExit.keys) {
            CGIProcess.signalGroup(pid, SIGKILL)
            registry?.forget(pid)
        }
        for pid in onExit.keys {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
        onExit.removeAll()
        polling.removeAll()
        groups.removeAll()
    }
}
