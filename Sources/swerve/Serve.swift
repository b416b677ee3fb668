import ArgumentParser
import SwerveConfig

/// `swerve [serve]`: run the master in the foreground.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server in the foreground (the default).")

    @OptionGroup var config: ConfigOption

    func run() throws {
        let path = config.resolvedPath
        let outcome = ConfigLoader.load(path: path)
        report(outcome.diagnostics)
        guard outcome.config != nil else { throw ExitCode(1) }
        writeStandardError("swerve: the configuration is valid, but serving is not implemented yet (the worker issue adds it)\n")
        throw ExitCode(1)
    }
}
