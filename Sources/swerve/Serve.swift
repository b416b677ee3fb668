import ArgumentParser
import Glibc
import Logging
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
        let loaded = try loadValidConfig(path)
        let logger: Logger
        let errorLog: LogFile
        do {
            (logger, errorLog) = try ErrorLogHandler.bootstrap(loaded.logging)
        } catch {
            writeStandardError("swerve: \(error)\n")
            throw ExitCode(1)
        }
        let master: Master
        do {
            master = try Master(config: loaded, configPath: path, logger: logger, errorLog: errorLog)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        let status = master.run()
        if status != 0 { throw ExitCode(status) }
    }
}
