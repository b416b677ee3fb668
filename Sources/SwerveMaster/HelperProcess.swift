import CSwerveShims
import Glibc
import Logging
import SwerveConfig
import SwerveWorker

/// What the CLI gives the master to run in the `swerve: acme` process. The
/// master does not import the helper's module, so no NIO (and no thread)
/// can creep into it; it only forks, and the child runs this.
public struct HelperProgram: Sendable {
    /// Runs as root in the child before privileges drop: creates the
    /// helper's folders and hands them to the server's user.
    public var prepare: @Sendable (Config, _ owner: (uid: uid_t, gid: gid_t)?) throws -> Void
    /// The helper itself; `send` writes one byte to the master ("R", "h", "L").
    public var run: @Sendable (Config, Logger, _ send: @escaping @Sendable (UInt8) -> Bool,
                               _ reopenLogs: @escaping @Sendable () -> Void) -> Int32

    public init(prepare: @escaping @Sendable (Config, (uid: uid_t, gid: gid_t)?) throws -> Void,
                run: @escaping @Sendable (Config, Logger, @escaping @Sendable (UInt8) -> Bool,
                                          @escaping @Sendable () -> Void) -> Int32) {
        self.prepare = prepare
        self.run = run
    }
}

/// The ACME helper as the master sees it — a worker's pattern (DESIGN
/// "Helpers"): a pid, a pipe for "R"eady, "h"eartbeat and "L" (a new
/// certificate: reload), a drain deadline once told to QUIT.
package final class HelperProcess {
    let pid: pid_t
    let pipe: Int32
    let started: Double
    /// What it was started for (`key(for:)`): a reload that changes it replaces the helper.
    let key: String
    var lastHeartbeat: Double
    var quitSentAt: Double?
    var killed = false

    private init(pid: pid_t, pipe: Int32, key: String, now: Double) {
        self.pid = pid
        self.pipe = pipe
        self.key = key
        started = now
        lastHeartbeat = now
    }

    /// The part of a config the helper works from: the acme block, the ACME
    /// vhosts' names, and the user it runs as. Nil: no helper needed.
    package static func key(for config: Config) -> String? {
        guard let acme = config.acme, !config.acmeVHosts.isEmpty else { return nil }
        let names = config.acmeVHosts.map { $0.names.map(\.description).joined(separator: ",") }
        return [acme.directory, acme.storage, acme.challenge.rawValue, "\(acme.renewBefore)", acme.email ?? "",
                acme.caRoots ?? "", config.server.user ?? "", config.server.group ?? ""].joined(separator: "|")
            + "|" + names.joined(separator: ";")
    }

    struct Launch {
        var config: Config
        /// `key(for: config)`, as its generation computed it.
        var key: String
        var program: HelperProgram
        var logger: Logger
        var errorLog: LogFile
        var signals: SignalInbox
        /// Every descriptor of the master's the helper must not keep: listeners, pipes, control sockets.
        var closeInChild: [Int32]
    }

    static func spawn(_ launch: Launch, now: Double) throws(MasterError) -> HelperProcess {
        let (pid, pipe) = try ChildFork.spawn { becomeHelper(launch, pipe: $0) }
        return HelperProcess(pid: pid, pipe: pipe, key: launch.key, now: now)
    }

    private static func becomeHelper(_ launch: Launch, pipe: Int32) -> Never {
        launch.signals.resetInChild()
        for fd in launch.closeInChild { close(fd) }
        _ = swerve_set_process_name("swerve: acme")
        let config = launch.config
        do {
            try launch.program.prepare(config, try Privileges.account(user: config.server.user, group: config.server.group))
            try Privileges.drop(user: config.server.user, group: config.server.group)
        } catch {
            launch.logger.critical("acme helper cannot start: \(error)")
            _exit(2)
        }
        let send: @Sendable (UInt8) -> Bool = { byte in
            var byte = byte
            return write(pipe, &byte, 1) == 1 || errno != EPIPE
        }
        let errorLog = launch.errorLog
        let logger = launch.logger
        let status = launch.program.run(config, logger, send, {
            do { try errorLog.reopen() } catch { logger.error("acme: \(error)") }
        })
        _exit(status)
    }
}
