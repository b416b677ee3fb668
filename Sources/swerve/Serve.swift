import ArgumentParser
import Glibc
import SwerveConfig
import SwerveMaster
import Logging
import SwerveWorker

/// `swerve [serve]`: run the server in the foreground.
///
/// Until the master process lands (its own issue), this binds the listeners
/// and runs one worker in this process: same sockets, same worker code, no
/// fork or supervision yet.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server in the foreground (the default).")

    @OptionGroup var config: ConfigOption

    func run() throws {
        let path = config.resolvedPath
        let outcome = ConfigLoader.load(path: path)
        report(outcome.diagnostics)
        guard let loaded = outcome.config else { throw ExitCode(1) }
        let logger: Logger
        do {
            logger = try ErrorLogHandler.bootstrap(loaded.logging)
        } catch {
            writeStandardError("swerve: \(error)\n")
            throw ExitCode(1)
        }
        var listeners: [InheritedListener] = []
        for address in loaded.listenAddresses {
            do {
                listeners.append(InheritedListener(address: address, descriptor: try Listeners.bind(address, backlog: loaded.server.backlog)))
            } catch {
                logger.error("\(error)")
                throw ExitCode(1)
            }
        }
        logger.info("swerve \(SwerveVersion.string) starting: \(loaded.summary)")
        do {
            try Worker.run(config: loaded, listeners: listeners, logger: logger)
        } catch {
            logger.error("worker failed: \(error)")
            throw ExitCode(1)
        }
        logger.info("swerve stopped")
    }
}
