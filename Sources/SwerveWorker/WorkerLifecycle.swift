import Glibc
import NIOCore
import NIOHTTP1

/// The worker's own signals and its way out: QUIT drains (stop accepting,
/// finish in-flight requests, close idle keep-alive connections), TERM and
/// INT stop at once, USR1 reopens the access log. Plus the once-a-second
/// access-log flush. Runs on the worker's event loop.
final class WorkerLifecycle: @unchecked Sendable {
    private let worker: WorkerContext
    private let listeners: [Channel]
    private let reaper: ChildReaper
    private let done: EventLoopPromise<Void>
    /// Writes the heartbeat; false once the master is gone (its pipe is closed).
    private let heartbeat: (@Sendable () -> Bool)?
    /// The error log inherited from the master, reopened on USR1 like the access log.
    private let errorLog: LogFile?
    private var flushTask: RepeatedTask?

    var finished: EventLoopFuture<Void> { done.futureResult }

    init(worker: WorkerContext, listeners: [Channel], reaper: ChildReaper, errorLog: LogFile?,
         heartbeat: (@Sendable () -> Bool)?) {
        self.worker = worker
        self.reaper = reaper
        self.errorLog = errorLog
        self.listeners = listeners
        self.heartbeat = heartbeat
        self.done = worker.eventLoop.makePromise()
    }

    /// The once-a-second tick: access-log flush and the heartbeat to the master.
    func start() {
        beat()
        flushTask = worker.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
            worker.accessLog?.flush()
            beat()
        }
    }

    private func beat() {
        guard let heartbeat, !heartbeat(), !worker.isDraining else { return }
        // An orphan would serve an old config forever and hold the ports a new master needs.
        worker.logger.error("the master is gone; draining")
        drain()
    }

    /// The signals the worker acts on; blocked in every thread from fork on.
    static let handledSignals: [Int32] = [SIGQUIT, SIGTERM, SIGINT, SIGUSR1]

    /// Takes the handled signals on their own thread and runs their actions
    /// on the event loop.
    func installSignalHandlers() {
        // The master's own signals, should they reach a worker (`pkill -HUP swerve`
        // matches both process names): ignored, as nginx's workers do. By default
        // HUP would kill the worker and TTIN/TTOU would stop it.
        for ignored in [SIGHUP, SIGTTIN, SIGTTOU, SIGUSR2, SIGWINCH] { signal(ignored, SIG_IGN) }
        SignalThread.start(Self.handledSignals) { [self] number in
            worker.eventLoop.execute { [self] in
                switch number {
                case SIGQUIT: drain()
                case SIGUSR1: reopenLogs()
                default: stop()
                }
            }
        }
    }

    private func drain() {
        guard !worker.isDraining else { return }
        worker.logger.info("worker draining")
        for channel in listeners { channel.close(promise: nil) }
        // Done when the last connection closes (no polling).
        worker.drain().whenSuccess { [self] in stop() }
    }

    private func stop() {
        // SPEC §3: a fast stop ends running scripts too (a drain has let them finish).
        reaper.killAll()
        flushTask?.cancel()
        worker.accessLog?.flush()
        for channel in listeners { channel.close(promise: nil) }
        done.succeed(())
    }

    private func reopenLogs() {
        do {
            try errorLog?.reopen()
            try worker.accessLog?.reopen()
            worker.logger.info("worker reopened its logs")
        } catch {
            worker.logger.error("\(error)")
        }
    }
}
