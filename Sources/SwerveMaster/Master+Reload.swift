import Glibc
import Logging
import SwerveConfig
import SwerveWorker

/// A reload under way: the new generation, its deadline to become ready, the
/// listeners bound for it, and the control clients waiting for its verdict.
final class PendingReload {
    let generation: Generation
    let deadline: Double
    let newlyBound: [ListenAddress]
    private(set) var waiters: [ControlClient]
    /// Why workers of the new generation did not become ready, for the verdict.
    var failures: [String] = []

    init(generation: Generation, deadline: Double, newlyBound: [ListenAddress], waiters: [ControlClient]) {
        self.generation = generation
        self.deadline = deadline
        self.newlyBound = newlyBound
        self.waiters = waiters
    }

    func answer(_ lines: [String]) {
        for waiter in waiters { waiter.answer(lines) }
        waiters = []
    }
}

/// Reloads and their verdicts (SPEC §3.1): HUP and the control socket's
/// `reload` both come here; the verdict goes to every client that asked.
extension Master {
    /// A reload now, or — while one is under way — once it ends: any number
    /// of requests meanwhile make exactly one more reload, which reads the
    /// config as it is on disk by then.
    func requestReload(waiter: ControlClient?) {
        guard stopping == nil else {
            waiter?.answer(["failed", "the server is stopping"])
            return
        }
        guard pendingReload == nil else {
            if queuedReload == nil { logger.info("reload requested during reload of generation \(pendingReload!.generation.id): it runs next") }
            queuedReload = (queuedReload ?? []) + [waiter].compactMap { $0 }
            return
        }
        startReload(waiters: [waiter].compactMap { $0 })
    }

    private func startReload(waiters: [ControlClient]) {
        notify.send("RELOADING=1\nMONOTONIC_USEC=\(SystemdNotify.monotonicMicroseconds())")
        logger.info("reloading \(configPath)")
        let outcome = ConfigLoader.load(path: configPath)
        for diagnostic in outcome.diagnostics.sorted { logger.log(level: diagnostic.severity == .error ? .error : .warning, "\(diagnostic)") }
        guard let fresh = outcome.config else {
            return reject(outcome.diagnostics.errors.map(\.description), summary: "\(configPath) has errors", waiters: waiters)
        }
        let logging: (Logger, LogFile)
        do {
            logging = try self.logging(for: fresh)
        } catch {
            return reject(["\(error)"], summary: "\(error)", waiters: waiters)
        }
        let newlyBound: [ListenAddress]
        do {
            newlyBound = try listeners.bindMissing(for: fresh)
        } catch {
            return reject(["\(error)"], summary: "\(error)", waiters: waiters)
        }
        let generation = makeGeneration(fresh, logger: logging.0, errorLog: logging.1)
        generations.append(generation)
        pendingReload = PendingReload(generation: generation, deadline: now() + Self.readyTimeout,
                                      newlyBound: newlyBound, waiters: waiters)
    }

    /// The error log and logger for a new config: the serving ones when
    /// `error_log` and `level` are unchanged.
    private func logging(for fresh: Config) throws(LogFileError) -> (Logger, LogFile) {
        let serving = current.config.logging
        if fresh.logging.errorLog == serving.errorLog && fresh.logging.level == serving.level { return (logger, errorLog) }
        let file = fresh.logging.errorLog == serving.errorLog ? errorLog : try ErrorLogHandler.openFile(fresh.logging.errorLog)
        return (ErrorLogHandler.logger(file: file, level: fresh.logging.level.swiftLogLevel), file)
    }

    private func reject(_ reasons: [String], summary: String, waiters: [ControlClient]) {
        logger.error("reload failed: \(summary); still serving generation \(current.id)")
        lastReload = "failed"
        notify.send("READY=1\nSTATUS=\(status)")
        for waiter in waiters { waiter.answer(["failed"] + reasons) }
        helperSeesReloadEnd(succeeded: false)
        runQueuedReload()
    }

    /// The new generation was not ready in time: stop it, keep the old one.
    func abandon(_ reload: PendingReload) {
        let generation = reload.generation
        let ready = generation.workers.values.filter(\.isReady).count
        logger.error("reload failed: generation \(generation.id) was not ready after \(Self.seconds(Self.readyTimeout)); keeping generation \(current.id)")
        generation.isRetiring = true
        for worker in generation.workers.values { kill(worker, reason: "reload abandoned") }
        listeners.close(reload.newlyBound)
        pendingReload = nil
        lastReload = "failed (not ready)"
        notify.send("READY=1\nSTATUS=\(status)")
        helperSeesReloadEnd(succeeded: false)
        reload.answer(["failed", "generation \(generation.id): \(ready) of \(generation.target) workers ready after \(Self.seconds(Self.readyTimeout)); still serving generation \(current.id)"]
                      + reload.failures)
        runQueuedReload()
    }

    /// Every worker of the new generation is ready: it serves from now on.
    func complete(_ reload: PendingReload) {
        let generation = reload.generation
        for old in generations where old !== generation { retire(old) }
        pendingReload = nil
        var notes: [String] = []
        // The master follows the serving config's logging and pid file.
        logger = generation.logger
        errorLog = generation.errorLog
        do { try movePidFile(to: generation.config.server.pidFile) } catch {
            logger.error("\(error)")
            notes.append("warning: \(error)")
        }
        lastReload = "ok at generation \(generation.id)"
        helperSeesReloadEnd(succeeded: true)
        logger.info("reload complete: generation \(generation.id) serving \(generation.config.summary)")
        notify.send("READY=1\nSTATUS=\(status)")
        reload.answer(["ok", "reloaded: generation \(generation.id), \(generation.workers.count) workers"] + notes)
        runQueuedReload()
    }

    private func runQueuedReload() {
        guard let waiters = queuedReload, stopping == nil else { return }
        queuedReload = nil
        startReload(waiters: waiters)
    }

    // MARK: pid file and control socket

    /// Writes the pid file at `path` (nil: none) and removes the previous one.
    func movePidFile(to path: String?) throws(PidFile.Failure) {
        guard path != pidFile else { return }
        if let path { try PidFile.write(getpid(), to: path) }
        if let old = pidFile { PidFile.remove(old, ifOwnedBy: getpid()) }
        pidFile = path
    }

    func openControlSocket() {
        do { control = try ControlSocket.open() } catch {
            logger.error("\(error); 'swerve signal reload' cannot wait for a verdict")
        }
    }

    func acceptControlClients() {
        while let (fd, allowed) = control?.accept() {
            let client = ControlClient(descriptor: fd, deadline: now() + ControlClient.commandTimeout)
            guard allowed else {
                client.answer(["failed", "permission denied: only the server's user and root may control it"])
                continue
            }
            commandClients.append(client)
        }
    }

    func readCommand(from client: ControlClient) {
        let reading = client.read()
        guard reading != .waiting else { return }
        commandClients.removeAll { $0 === client }
        switch reading {
        case .command("reload"):
            logger.info("reload asked on the control socket")
            requestReload(waiter: client)
        case .command(let other):
            client.answer(["failed", "unknown command '\(ErrorLogHandler.sanitised(other))'"])
        case .gone, .waiting:
            close(client.descriptor)
        }
    }
}
