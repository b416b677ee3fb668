import CSwerveShims
import Glibc
import Logging
import SwerveConfig
import SwerveWorker

/// The master process: one thread, one loop (nginx's master cycle, gunicorn's
/// arbiter). It waits on a signalfd and the workers' pipes, then reaps,
/// replaces, reloads or stops. It never serves a request and never starts a
/// thread, so that every `fork()` is safe.
public final class Master {
    /// The config the master started with; after that, each generation holds
    /// its own (`current.config` is the one serving).
    private let initialConfig: Config
    let configPath: String
    /// The error log and its logger follow the serving config: a reload that
    /// changes `error_log` or `level` switches them once it succeeds.
    var logger: Logger
    var errorLog: LogFile
    let signals: SignalInbox
    let notify = SystemdNotify()
    var listeners: ListenerSet
    var generations: [Generation] = []
    private var nextGenerationID = 1
    private var announcedReady = false
    var lastReload = "none"
    /// A reload in progress: the new generation, its deadline to become ready,
    /// the listeners bound for it, and who waits for its verdict.
    var pendingReload: PendingReload?
    /// A reload asked for while one was under way runs when that one ends;
    /// any number of requests meanwhile make one more reload.
    var queuedReload: [ControlClient]?
    /// The pid file written (it follows the serving config's `pid_file`).
    var pidFile: String?
    var control: ControlSocket?
    /// Control connections whose command has not arrived yet.
    var commandClients: [ControlClient] = []
    /// Set by QUIT (graceful) or TERM/INT (fast).
    var stopping: (graceful: Bool, deadline: Double)?
    /// The `swerve: acme` helper (Master+Helper.swift).
    var acme: HelperSupervision

    /// How long a new generation may take to become ready before the reload is abandoned.
    static let readyTimeout = 10.0

    /// `helper`: what the `swerve: acme` process runs, when the CLI provides it.
    public init(config: Config, configPath: String, logger: Logger, errorLog: LogFile,
                helper: HelperProgram? = nil) throws(MasterError) {
        self.initialConfig = config
        acme = HelperSupervision(program: helper)
        self.configPath = configPath
        self.logger = logger
        self.errorLog = errorLog
        signals = try SignalInbox()
        listeners = try ListenerSet(config: config, logger: logger)
    }

    /// Runs until stopped; returns the exit status.
    public func run() -> Int32 {
        _ = swerve_set_process_name("swerve: master")
        let config = initialConfig
        do { try movePidFile(to: config.server.pidFile) } catch {
            logger.error("\(error)")
            return 1
        }
        // The pid file named by the config serving at exit.
        defer { try? movePidFile(to: nil) }
        openControlSocket()
        logger.info("swerve \(SwerveVersion.string) master started: \(config.summary)")
        let leftovers = UploadLeftovers.remove(in: UploadLeftovers.folders(config), ownedBy: nil)
        if leftovers > 0 { logger.info("removed \(leftovers) unfinished upload(s) of an earlier run") }
        generations.append(makeGeneration(config, logger: logger, errorLog: errorLog))
        while true {
            spawnMissingWorkers()
            superviseHelper()
            waitForEvents()
            reapChildren()
            checkDeadlines()
            if let status = progress() { return status }
        }
    }

    // MARK: the loop

    private func waitForEvents() {
        var fds = [pollfd(fd: signals.descriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: control?.descriptor ?? -1, events: Int16(POLLIN), revents: 0)]
        let clients = commandClients
        fds += clients.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        let workers = allWorkers
        fds += workers.map { pollfd(fd: $0.pipe, events: Int16(POLLIN), revents: 0) }
        let helper = acme.process
        fds.append(pollfd(fd: helper?.pipe ?? -1, events: Int16(POLLIN), revents: 0))
        let ready = poll(&fds, nfds_t(fds.count), 200)
        guard ready > 0 else { return }
        if fds[0].revents != 0 {
            for number in signals.drain() { handle(signal: number) }
        }
        if fds[1].revents != 0 { acceptControlClients() }
        for (index, client) in clients.enumerated() where fds[index + 2].revents != 0 {
            readCommand(from: client)
        }
        for (index, worker) in workers.enumerated() where fds[index + 2 + clients.count].revents != 0 {
            readPipe(of: worker)
        }
        if let helper, fds[fds.count - 1].revents != 0 { readPipe(of: helper) }
    }

    private func readPipe(of worker: WorkerProcess) {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(worker.pipe, &buffer, buffer.count)
        guard count > 0 else { return }  // EOF: the worker is gone; waitpid reaps it
        worker.lastHeartbeat = now()
        if buffer[0..<count].contains(UInt8(ascii: "R")) && !worker.isReady {
            worker.isReady = true
            logger.debug("worker \(worker.pid) of generation \(worker.generation) ready")
        }
    }

    private func handle(signal number: Int32) {
        switch number {
        case SIGCHLD:
            break  // reaped after every wake-up
        case SIGHUP:
            requestReload(waiter: nil)
        case SIGQUIT:
            beginStop(graceful: true)
        case SIGTERM, SIGINT:
            beginStop(graceful: false)
        case SIGUSR1:
            reopenLogs()
        case SIGTTIN:
            current.target += 1
            logger.info("TTIN: generation \(current.id) now has \(current.target) workers")
        case SIGTTOU:
            guard current.target > 1 else {
                logger.info("TTOU ignored: generation \(current.id) keeps its last worker")
                return
            }
            current.target -= 1
            if let newest = current.workers.values.filter({ $0.quitSentAt == nil }).max(by: { $0.started < $1.started }) {
                quit(newest)
            }
            logger.info("TTOU: generation \(current.id) now has \(current.target) workers")
        default:
            break
        }
    }

    private func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            if reapHelper(pid, status: status) { continue }
            guard let generation = generations.first(where: { $0.workers[pid] != nil }),
                  let worker = generation.workers.removeValue(forKey: pid) else { continue }
            close(worker.pipe)
            // A worker killed (or crashed) could not end its scripts: no script outlives its worker.
            if let ended = worker.scripts?.killListedGroups(), ended > 0 {
                logger.warning("ended \(ended) script process group(s) left running by worker \(pid)")
            }
            let leftovers = UploadLeftovers.remove(in: UploadLeftovers.folders(generation.config), ownedBy: pid)
            if leftovers > 0 { logger.info("removed \(leftovers) unfinished upload(s) of worker \(pid)") }
            let lifetime = now() - worker.started
            let expected = worker.quitSentAt != nil || worker.killed || generation.isRetiring || stopping != nil
            let cause = Self.describe(status)
            if expected {
                logger.info("worker \(pid) of generation \(generation.id) exited (\(cause))")
            } else {
                let delay = generation.backoff.delay(afterLifetime: lifetime, wasReady: worker.isReady)
                generation.nextSpawnAt = now() + delay
                let when = delay == 0 ? "at once" : "in \(Self.seconds(delay))"
                let stage = worker.isReady ? "" : " before it was ready"
                if let reload = pendingReload, reload.generation === generation, !worker.isReady {
                    reload.failures.append("worker \(pid) of generation \(generation.id) died before it was ready (\(cause)); see the error log")
                }
                logger.error("worker \(pid) of generation \(generation.id) died unexpectedly (\(cause)) after \(Self.seconds(lifetime))\(stage); replacing it \(when)")
            }
        }
    }

    private func spawnMissingWorkers() {
        guard stopping == nil else { return }
        for generation in generations where generation.missing > 0 && now() >= generation.nextSpawnAt {
            for _ in 0..<generation.missing {
                do {
                    let worker = try WorkerProcess.spawn(launch(for: generation), generation: generation.id, now: now())
                    generation.workers[worker.pid] = worker
                } catch {
                    logger.error("cannot start a worker: \(error)")
                    generation.nextSpawnAt = now() + generation.backoff.delay(afterLifetime: 0, wasReady: false)
                    return
                }
            }
        }
    }

    /// Heartbeats, drain deadlines, the reload deadline.
    private func checkDeadlines() {
        let time = now()
        for generation in generations {
            // Each generation's own shutdown_timeout: a reload does not shorten an older drain.
            let limit = Double(generation.config.server.shutdownTimeout.components.seconds)
            for worker in generation.workers.values where !worker.killed {
                if let quitAt = worker.quitSentAt {
                    if time - quitAt > limit { kill(worker, reason: "still draining after \(Self.seconds(limit))") }
                } else if time - worker.lastHeartbeat > max(limit, 2) {
                    kill(worker, reason: "no heartbeat for \(Self.seconds(time - worker.lastHeartbeat))")
                }
            }
        }
        checkHelperDeadline(limit: Double(current.config.server.shutdownTimeout.components.seconds))
        if let reload = pendingReload, time > reload.deadline { abandon(reload) }
        for client in commandClients where time > client.deadline {
            client.answer(["failed", "no command within \(Self.seconds(ControlClient.commandTimeout))"])
            commandClients.removeAll { $0 === client }
        }
        if let stop = stopping, time > stop.deadline {
            for worker in allWorkers where !worker.killed { kill(worker, reason: "shutdown timeout") }
            if let helper = acme.process, !helper.killed {
                helper.killed = true
                _ = Glibc.kill(helper.pid, SIGKILL)
            }
        }
    }

    /// Finishes reloads and stops that are complete; the exit status when the master is done.
    private func progress() -> Int32? {
        if let reload = pendingReload, reload.generation.isReady { complete(reload) }
        if !announcedReady && current.isReady {
            announcedReady = true
            logger.info("generation \(current.id) ready: \(current.workers.count) workers")
            notify.send("READY=1\nMAINPID=\(getpid())\nSTATUS=\(status)")
        }
        // Generations that drained away, and the listeners only they used.
        let finished = generations.filter { $0.isRetiring && $0.workers.isEmpty && $0 !== current }
        if !finished.isEmpty {
            generations.removeAll { generation in finished.contains { $0 === generation } }
            listeners.closeUnused(keeping: generations.map(\.config))
        }
        if stopping != nil && allWorkers.isEmpty && acme.process == nil {
            listeners.close(Array(listeners.addresses))
            for client in commandClients { client.answer(["failed", "the server stopped"]) }
            logger.info("master exiting")
            return 0
        }
        return nil
    }

    // MARK: actions

    private func beginStop(graceful: Bool) {
        // A second QUIT changes nothing; TERM during a graceful stop makes it fast.
        if let stop = stopping, !(stop.graceful && !graceful) { return }
        let timeout = graceful ? Double(current.config.server.shutdownTimeout.components.seconds) : 2
        stopping = (graceful, now() + timeout)
        notify.send("STOPPING=1")
        logger.info(graceful ? "QUIT: draining workers, then exiting" : "stopping now")
        // New connections are refused from now on rather than queued for
        // workers that no longer accept (systemd's own copies stay with it).
        listeners.close(Array(listeners.addresses))
        if let reload = pendingReload {
            pendingReload = nil
            reload.answer(["failed", "the server is stopping"])
        }
        queuedReload?.forEach { $0.answer(["failed", "the server is stopping"]) }
        queuedReload = nil
        for worker in allWorkers {
            if graceful { quit(worker) } else { _ = Glibc.kill(worker.pid, SIGTERM) }
        }
        if let helper = acme.process {
            if graceful { quit(helper) } else { _ = Glibc.kill(helper.pid, SIGTERM) }
        }
    }

    private func reopenLogs() {
        do { try errorLog.reopen() } catch { logger.error("\(error)") }
        logger.info("USR1: logs reopened; telling the workers")
        for worker in allWorkers { _ = Glibc.kill(worker.pid, SIGUSR1) }
        if let helper = acme.process { _ = Glibc.kill(helper.pid, SIGUSR1) }
    }

    func retire(_ generation: Generation) {
        generation.isRetiring = true
        for worker in generation.workers.values { quit(worker) }
    }

    private func quit(_ worker: WorkerProcess) {
        guard worker.quitSentAt == nil else { return }
        worker.quitSentAt = now()
        _ = Glibc.kill(worker.pid, SIGQUIT)
    }

    func kill(_ worker: WorkerProcess, reason: String) {
        logger.error("killing worker \(worker.pid): \(reason)")
        worker.killed = true
        _ = Glibc.kill(worker.pid, SIGKILL)
    }

    // MARK: helpers

    /// The generation serving: the newest one that is neither retiring nor still starting in a reload.
    var current: Generation {
        let starting = pendingReload?.generation
        return generations.last { !$0.isRetiring && $0 !== starting } ?? generations.last!
    }
    private var allWorkers: [WorkerProcess] { generations.flatMap { Array($0.workers.values) } }

    var status: String {
        "\(current.workers.count) workers, generation \(current.id), last reload: \(lastReload)"
    }

    func makeGeneration(_ config: Config, logger: Logger, errorLog: LogFile) -> Generation {
        defer { nextGenerationID += 1 }
        return Generation(id: nextGenerationID, config: config, listeners: listeners.inherited(for: config),
                          target: Generation.workerCount(config), logger: logger, errorLog: errorLog)
    }

    private func launch(for generation: Generation) -> WorkerProcess.Launch {
        let used = Set(generation.listeners.map(\.descriptor))
        return WorkerProcess.Launch(config: generation.config, listeners: generation.listeners, logger: generation.logger,
                                    errorLog: generation.errorLog, signals: signals,
                                    closeInChild: inheritedDescriptors.filter { !used.contains($0) })
    }

    /// The master's descriptors a child must close (a worker keeps its listeners):
    /// listeners, children's pipes, control sockets.
    var inheritedDescriptors: [Int32] {
        let control = [self.control?.descriptor].compactMap { $0 } + commandClients.map(\.descriptor)
            + (pendingReload?.waiters ?? []).map(\.descriptor) + (queuedReload ?? []).map(\.descriptor)
        return listeners.descriptors + allWorkers.map(\.pipe) + [acme.process?.pipe].compactMap { $0 } + control
    }

    func now() -> Double { MonotonicClock.seconds }

    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exit code \((status >> 8) & 0xff)" }
        return "signal \(SignalInbox.name(signal))"
    }

    static func seconds(_ value: Double) -> String {
        value < 10 ? "\(Double(Int(value * 10)) / 10) s" : "\(Int(value)) s"
    }
}
