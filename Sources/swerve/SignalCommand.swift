import ArgumentParser
import Glibc
import SwerveConfig
import SwerveMaster

/// `swerve signal reload|quit|stop|reopen`: signal the master named by the
/// pid file. `reload` asks on the master's control socket instead and waits
/// for the verdict (SPEC §3.1): exit 0 once the new generation serves, 1 with
/// the reasons when the old one keeps serving, 2 when no verdict came in time.
struct SignalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal",
        abstract: "Send reload (HUP), quit (QUIT), stop (TERM) or reopen (USR1) to the running master.",
        discussion: "reload waits for the master's verdict: exit 0 when the new configuration serves, 1 when the old one keeps serving (the reasons are printed), 2 when no verdict came within shutdown_timeout + 10 s."
    )

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case reload, quit, stop, reopen

        var signal: Int32 {
            switch self {
            case .reload: return SIGHUP
            case .quit: return SIGQUIT
            case .stop: return SIGTERM
            case .reopen: return SIGUSR1
            }
        }
    }

    @Argument(help: "reload | quit | stop | reopen")
    var action: Action

    @OptionGroup var config: ConfigOption

    @Flag(name: .customLong("no-wait"), help: "reload: send HUP and return at once, without waiting for the verdict.")
    var noWait = false

    @Option(name: .customLong("pid"), help: "The master's pid, instead of reading the config's pid_file (systemd passes $MAINPID; needed after an edit that moves pid_file).")
    var masterPid: Int32?

    func run() throws {
        let path = config.resolvedPath
        let outcome = ConfigLoader.load(path: path)
        // Only pid_file is needed: a config with unrelated errors must not stop a
        // log reopen, and a reload will report those errors itself.
        if outcome.config == nil && (action != .reload || noWait) {
            writeStandardError("swerve: warning: \(path) has errors (see 'swerve check'); signalling anyway\n")
        }
        let pid = try findMaster(pidFile: outcome.decoded.server.pidFile, path: path)
        if action == .reload && !noWait {
            let timeout = Double(outcome.decoded.server.shutdownTimeout.components.seconds) + 10
            throw ExitCode(ReloadRequest.run(master: pid, timeout: timeout))
        }
        guard kill(pid, action.signal) == 0 else {
            let reason = errno == ESRCH ? "no such process (stale pid file?)" : String(cString: strerror(errno))
            writeStandardError("swerve: cannot signal master \(pid): \(reason)\n")
            throw ExitCode(1)
        }
    }

    /// The master's pid: `--pid`, or the pid file's — and only if that process is a swerve master.
    private func findMaster(pidFile: String?, path: String) throws -> Int32 {
        let pid: Int32
        let source: String
        if let masterPid {
            (pid, source) = (masterPid, "--pid")
        } else {
            guard let pidFile else {
                writeStandardError("swerve: \(path) sets no server.pid_file, so the master cannot be found (or give --pid)\n")
                throw ExitCode(1)
            }
            do {
                pid = try PidFile.read(pidFile)
            } catch {
                writeStandardError("swerve: \(error) (if an edit moved pid_file, name the running master with --pid)\n")
                throw ExitCode(1)
            }
            source = "pid file '\(pidFile)'"
        }
        // A pid file left behind by a crash may name a process that is gone,
        // or an unrelated one that got the same pid: never signal that.
        guard let name = processName(pid) else {
            writeStandardError("swerve: no process \(pid) (stale \(source)?)\n")
            throw ExitCode(1)
        }
        guard name == "swerve: master" else {
            writeStandardError("swerve: process \(pid) is '\(name)', not a swerve master (stale \(source)?)\n")
            throw ExitCode(1)
        }
        return pid
    }
}

/// The process's name as the kernel knows it (`/proc/PID/comm`), nil when there is no such process.
func processName(_ pid: pid_t) -> String? {
    guard case .success(let bytes) = FileSystem.readFile("/proc/\(pid)/comm", limit: 256) else { return nil }
    return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: "\n")
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.last == set { text = text.dropLast() }
        return String(text)
    }
}
