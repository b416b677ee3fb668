import CSwerveShims
import Glibc

/// The master's signals, delivered through a signalfd: they are blocked and
/// read in the main loop like any other file, so no code at all runs inside
/// a signal handler (nginx and gunicorn use flags and a self-pipe to the
/// same end).
struct SignalInbox {
    static let handled: [Int32] = [SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGTTIN, SIGTTOU, SIGCHLD]

    let descriptor: Int32

    /// Blocks the handled signals and opens the signalfd that receives them.
    init() throws(MasterError) {
        var mask = Self.mask()
        guard sigprocmask(SIG_BLOCK, &mask, nil) == 0 else { throw .system("sigprocmask", errno) }
        let fd = swerve_signalfd(&mask)
        guard fd >= 0 else { throw .system("signalfd", errno) }
        descriptor = fd
    }

    /// Every signal pending now, in arrival order.
    func drain() -> [Int32] {
        var signals: [Int32] = []
        while true {
            let number = swerve_read_signal(descriptor)
            if number <= 0 { return signals }
            signals.append(number)
        }
    }

    /// In a freshly forked worker: default dispositions, no signalfd — and
    /// the signals still blocked: the worker takes QUIT, TERM, INT and USR1
    /// once its handlers are in place, so one sent while it starts waits
    /// instead of killing it. (Scripts start with an empty mask: posix_spawn
    /// sets it.)
    func resetInChild() {
        close(descriptor)
        for number in Self.handled { signal(number, SIG_DFL) }
        signal(SIGPIPE, SIG_IGN)
    }

    private static func mask() -> sigset_t {
        var mask = sigset_t()
        sigemptyset(&mask)
        for number in handled { sigaddset(&mask, number) }
        return mask
    }

    static func name(_ number: Int32) -> String {
        switch number {
        case SIGHUP: return "HUP"
        case SIGQUIT: return "QUIT"
        case SIGTERM: return "TERM"
        case SIGINT: return "INT"
        case SIGUSR1: return "USR1"
        case SIGTTIN: return "TTIN"
        case SIGTTOU: return "TTOU"
        case SIGCHLD: return "CHLD"
        case SIGKILL: return "KILL"
        case SIGSEGV: return "SEGV"
        case SIGABRT: return "ABRT"
        case SIGILL: return "ILL"
        case SIGBUS: return "BUS"
        case SIGTRAP: return "TRAP"
        default: return String(number)
        }
    }
}

public enum MasterError: Error, CustomStringConvertible {
    case system(String, Int32)
    case message(String)

    public var description: String {
        switch self {
        case .system(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
        case .message(let text): return text
        }
    }
}
