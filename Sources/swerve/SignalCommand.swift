import ArgumentParser
import Glibc
import SwerveConfig
import SwerveMaster

/// `swerve signal reload|quit|stop|reopen`: signal the master named by the pid file.
struct SignalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal",
        abstract: "Send reload (HUP), quit (QUIT), stop (TERM) or reopen (USR1) to the running master."
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

    func run() throws {
        let path = config.resolvedPath
        let outcome = ConfigLoader.load(path: path)
        // Only pid_file is needed: a config with unrelated errors must not stop a
        // log reopen, and a reload will report those errors itself.
        if outcome.config == nil {
            writeStandardError("swerve: warning: \(path) has errors (see 'swerve check'); signalling anyway\n")
        }
        guard let pidFile = outcome.decoded.server.pidFile else {
            writeStandardError("swerve: \(path) sets no server.pid_file, so the master cannot be found\n")
            throw ExitCode(1)
        }
        do {
            let pid = try PidFile.read(pidFile)
            // A pid file left behind by a crash may name a process that is gone,
            // or an unrelated one that got the same pid: never signal that.
            guard let name = processName(pid) else {
                writeStandardError("swerve: no process \(pid) (stale pid file '\(pidFile)'?)\n")
                throw ExitCode(1)
            }
            guard name == "swerve: master" else {
                writeStandardError("swerve: process \(pid) is '\(name)', not a swerve master (stale pid file '\(pidFile)'?)\n")
                throw ExitCode(1)
            }
            guard kill(pid, action.signal) == 0 else {
                let reason = errno == ESRCH ? "no such process (stale pid file?)" : String(cString: strerror(errno))
                writeStandardError("swerve: cannot signal master \(pid) from '\(pidFile)': \(reason)\n")
                throw ExitCode(1)
            }
        } catch let failure as PidFile.Failure {
            writeStandardError("swerve: \(failure)\n")
            throw ExitCode(1)
        }
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
