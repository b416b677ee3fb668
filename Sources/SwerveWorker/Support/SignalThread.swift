import CSwerveShims
import Glibc

/// The worker's signals, taken by one plain thread blocked in sigwaitinfo(2).
///
/// The signals stay blocked in every thread from the moment the master forks
/// (so a QUIT that arrives while a worker starts waits for it instead of
/// killing it with the default action), and this thread takes them one by
/// one. No Dispatch: its signal sources run on the global queue, whose
/// threads log "Failed to set thread priority" when the service is not root.
enum SignalThread {
    /// Blocks `signals` in the calling thread — and so in every thread it
    /// creates after this; call it before the event loop and thread pool start.
    static func block(_ signals: [Int32]) {
        var set = makeSet(signals)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Starts the thread; `handler` runs on it for every signal taken.
    static func start(_ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        let context = Unmanaged.passRetained(Context(signals: signals, handler: handler)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            let context = Unmanaged<Context>.fromOpaque(argument!).takeRetainedValue()
            _ = swerve_set_process_name("swerve: signals")  // this thread's name, in /proc/PID/task/*/comm
            var set = SignalThread.makeSet(context.signals)
            while true {
                let number = sigwaitinfo(&set, nil)
                if number > 0 { context.handler(number) }
            }
        }, context)
        if created == 0 { pthread_detach(thread) } else { Unmanaged<Context>.fromOpaque(context).release() }
    }

    private final class Context {
        let signals: [Int32]
        let handler: @Sendable (Int32) -> Void
        init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
            self.signals = signals
            self.handler = handler
        }
    }

    fileprivate static func makeSet(_ signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for number in signals { sigaddset(&set, number) }
        return set
    }
}
