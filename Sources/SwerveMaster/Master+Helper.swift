import Glibc
import Logging
import SwerveConfig

/// The `swerve: acme` helper's supervision (SPEC §4; DESIGN "Helpers"),
/// the workers' pattern: started when the serving config has ACME vhosts,
/// replaced with back-off when it dies, killed when its heartbeat stops,
/// replaced when a reload changes what it works on (and left alone by any
/// other reload, an order under way included), stopped with the workers.
extension Master {
    /// Called every turn of the loop.
    func superviseHelper() {
        guard stopping == nil, let program = acme.program else { return }
        if acme.certificatesToLoad, let at = acme.retryReloadAt, now() >= at, pendingReload == nil {
            acme.retryReloadAt = nil
            logger.info("reloading again for the acme helper's new certificate")
            requestReload(waiter: nil)
        }
        let wanted = current.helperKey
        if let helper = acme.process {
            if helper.key != wanted && helper.quitSentAt == nil {
                logger.info("the ACME settings or vhosts changed: replacing the acme helper \(helper.pid)")
                quit(helper)
            }
            return
        }
        guard let key = wanted, now() >= acme.nextSpawnAt else { return }
        let launch = HelperProcess.Launch(config: current.config, key: key, program: program, logger: current.logger,
                                          errorLog: current.errorLog, signals: signals,
                                          closeInChild: inheritedDescriptors)
        do {
            acme.process = try HelperProcess.spawn(launch, now: now())
        } catch {
            logger.error("cannot start the acme helper: \(error)")
            acme.nextSpawnAt = now() + acme.backoff.delay(afterLifetime: 0, wasReady: false)
        }
    }

    func readPipe(of helper: HelperProcess) {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(helper.pipe, &buffer, buffer.count)
        guard count > 0 else { return }
        helper.lastHeartbeat = now()
        if buffer[0..<count].contains(UInt8(ascii: "L")) {
            logger.info("the acme helper stored a new certificate: reloading")
            acme.certificatesToLoad = true
            requestReload(waiter: nil)
        }
    }

    /// True when `pid` was the helper.
    func reapHelper(_ pid: pid_t, status: Int32) -> Bool {
        guard let helper = acme.process, helper.pid == pid else { return false }
        acme.process = nil
        close(helper.pipe)
        let cause = Self.describe(status)
        let lifetime = now() - helper.started
        // Killed for a missing heartbeat counts as a death: it backs off too.
        if helper.quitSentAt != nil || stopping != nil {
            logger.info("acme helper \(pid) exited (\(cause))")
        } else {
            // It says ready at once, so only a long life counts as healthy: never a fork loop.
            let delay = acme.backoff.delay(afterLifetime: lifetime, wasReady: false)
            acme.nextSpawnAt = now() + delay
            logger.error("acme helper \(pid) died unexpectedly (\(cause)) after \(Self.seconds(lifetime)); restarting it \(delay == 0 ? "at once" : "in \(Self.seconds(delay))")")
        }
        return true
    }

    /// Its heartbeat and its drain deadline; every worker's limits.
    func checkHelperDeadline(limit: Double) {
        guard let helper = acme.process, !helper.killed else { return }
        let time = now()
        let late = helper.quitSentAt.map { time - $0 > limit } ?? (time - helper.lastHeartbeat > max(limit, 2))
        guard late else { return }
        logger.error("killing acme helper \(helper.pid): \(helper.quitSentAt == nil ? "no heartbeat" : "still running") after \(Self.seconds(limit))")
        helper.killed = true
        _ = Glibc.kill(helper.pid, SIGKILL)
    }

    /// A reload ended: a successful one serves whatever the helper stored;
    /// after a failed one (a config mid-edit, say) the helper's certificate
    /// is not served yet, so another reload is tried in a minute.
    func helperSeesReloadEnd(succeeded: Bool) {
        if succeeded {
            acme.certificatesToLoad = false
            acme.retryReloadAt = nil
        } else if acme.certificatesToLoad {
            acme.retryReloadAt = now() + HelperSupervision.reloadRetry
            logger.warning("the acme helper's new certificate is not served yet: the reload failed; trying again in \(Self.seconds(HelperSupervision.reloadRetry))")
        }
    }

    func quit(_ helper: HelperProcess) {
        guard helper.quitSentAt == nil else { return }
        helper.quitSentAt = now()
        _ = Glibc.kill(helper.pid, SIGQUIT)
    }
}

/// The helper's process and its restart back-off.
struct HelperSupervision {
    let program: HelperProgram?
    var process: HelperProcess?
    var backoff = Backoff()
    var nextSpawnAt = 0.0
    /// The helper stored a certificate that no successful reload has loaded yet.
    var certificatesToLoad = false
    var retryReloadAt: Double?
    static let reloadRetry = 60.0
}
