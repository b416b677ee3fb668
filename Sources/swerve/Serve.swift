import ArgumentParser
import Glibc
import Logging
import SwerveACME
import SwerveConfig
import SwerveMaster
import SwerveWorker

/// `swerve [serve]`: run the master in the foreground (systemd supervises;
/// there is no daemon mode).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server in the foreground (the default).")

    @OptionGroup var config: ConfigOption

    func run() throws {
        let path = config.resolvedPath
        let (loaded, warnings) = try loadValidConfig(path)
        let logger: Logger
        let errorLog: LogFile
        do {
            (logger, errorLog) = try ErrorLogHandler.bootstrap(loaded.logging)
        } catch {
            writeStandardError("swerve: \(error)\n")
            throw ExitCode(1)
        }
        // Warnings went to stderr (the journal under systemd); an error log
        // file gets them too, such as which ACME name waits for its certificate.
        if case .file = loaded.logging.errorLog {
            for warning in warnings { logger.warning("\(warning)") }
        }
        let master: Master
        do {
            master = try Master(config: loaded, configPath: path, logger: logger, errorLog: errorLog,
                                helper: Self.acmeHelper)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        let status = master.run()
        if status != 0 { throw ExitCode(status) }
    }

    /// The `swerve: acme` process, wired here so the master never imports
    /// the helper's module (NIO): it only forks and runs this in the child.
    static let acmeHelper = HelperProgram(
        prepare: { config, owner in try ACMEHelper.prepareStorage(config, owner: owner) },
        run: { config, logger, send, reopenLogs in
            ACMEHelper.run(config: config, logger: logger, notify: { send($0.rawValue) }, reopenLogs: reopenLogs)
        })
}
