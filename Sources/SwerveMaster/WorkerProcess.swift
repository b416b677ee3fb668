import CSwerveShims
import Glibc
import Logging
import SwerveConfig
import SwerveWorker

/// One forked worker as the master sees it: its pid, its generation and the
/// read end of its pipe, on which the worker writes "R" once its listeners
/// accept and "h" every second from its event loop. EOF means it is gone.
final class WorkerProcess {
    let pid: pid_t
    let generation: Int
    let pipe: Int32
    let started: Double
    var isReady = false
    var lastHeartbeat: Double
    /// When the master asked it to drain (QUIT), for the SIGKILL deadline.
    var quitSentAt: Double?
    var killed = false
    /// The worker's running scripts, shared with it: ended by the master when
    /// the worker dies without ending them itself.
    let scripts: ScriptRegistry?

    private init(pid: pid_t, generation: Int, pipe: Int32, scripts: ScriptRegistry?, now: Double) {
        self.pid = pid
        self.generation = generation
        self.pipe = pipe
        self.scripts = scripts
        self.started = now
        self.lastHeartbeat = now
    }

    /// What a child needs to become a worker.
    struct Launch {
        var config: Config
        var listeners: [InheritedListener]
        var logger: Logger
        var errorLog: LogFile
        var signals: SignalInbox
        /// Descriptors the child must not keep: other workers' pipes, listeners it does not serve.
        var closeInChild: [Int32]
    }

    /// Forks a worker.
    static func spawn(_ launch: Launch, generation: Int, now: Double) throws(MasterError) -> WorkerProcess {
        let maxScripts = Worker.maxScripts(launch.config)
        let scripts = maxScripts > 0 ? ScriptRegistry(capacity: maxScripts) : nil
        let (pid, pipe) = try ChildFork.spawn { becomeWorker(launch, pipe: $0, scripts: scripts) }
        launch.logger.debug("fork check: master has 1 thread")
        return WorkerProcess(pid: pid, generation: generation, pipe: pipe, scripts: scripts, now: now)
    }

    /// The child side: reset what the master set up, name the process, drop
    /// privileges, serve, and exit without running the master's cleanup.
    private static func becomeWorker(_ launch: Launch, pipe: Int32, scripts: ScriptRegistry?) -> Never {
        launch.signals.resetInChild()
        for fd in launch.closeInChild { close(fd) }
        _ = swerve_set_process_name("swerve: worker")
        _ = fcntl(pipe, F_SETFL, fcntl(pipe, F_GETFL) | O_NONBLOCK)
        let accessLog: AccessLog?
        do {
            // Opened while still root, so the log folder need not belong to the worker user.
            accessLog = try Worker.openAccessLog(launch.config.logging)
            try Privileges.drop(user: launch.config.server.user, group: launch.config.server.group)
        } catch {
            launch.logger.critical("worker cannot start: \(error)")
            _exit(2)
        }
        // False once the master is gone: its end of the pipe closed (EPIPE; SIGPIPE is ignored).
        let notify: @Sendable (UInt8) -> Bool = { byte in
            var byte = byte
            return write(pipe, &byte, 1) == 1 || errno != EPIPE
        }
        do {
            try Worker.run(config: launch.config, listeners: launch.listeners, accessLog: accessLog,
                           errorLog: launch.errorLog, logger: launch.logger, scripts: scripts,
                           onReady: { _ = notify(UInt8(ascii: "R")) }, heartbeat: { notify(UInt8(ascii: "h")) })
        } catch {
            launch.logger.critical("worker failed: \(error)")
            _exit(1)
        }
        _exit(0)
    }
}

/// Dropping root in a worker: supplementary groups, group, then user — in
/// that order, since after setuid the others are no longer allowed.
enum Privileges {
    static func drop(user: String?, group: String?) throws(MasterError) {
        guard let user, let (uid, gid) = try account(user: user, group: group) else { return }
        var groups = [gid]
        guard setgroups(1, &groups) == 0 else { throw .system("setgroups", errno) }
        guard setgid(gid) == 0 else { throw .system("setgid", errno) }
        guard setuid(uid) == 0 else { throw .system("setuid", errno) }
        guard getuid() == uid, geteuid() == uid, setuid(0) != 0 else {
            throw .message("privileges were not dropped to '\(user)'")
        }
    }
}

extension Privileges {
    /// The uid and gid `drop` switches to; nil when it does not switch (not
    /// root, or no user configured).
    static func account(user: String?, group: String?) throws(MasterError) -> (uid: uid_t, gid: gid_t)? {
        guard getuid() == 0 || geteuid() == 0, let user else { return nil }
        guard let account = getpwnam(user) else { throw .message("user '\(user)' does not exist") }
        var gid = account.pointee.pw_gid
        if let group {
            guard let entry = getgrnam(group) else { throw .message("group '\(group)' does not exist") }
            gid = entry.pointee.gr_gid
        }
        return (account.pointee.pw_uid, gid)
    }
}
