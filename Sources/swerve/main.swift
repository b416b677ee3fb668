import ArgumentParser
import SwerveConfig

/// `swerve [serve] [-c PATH]`, `swerve check`, `swerve signal`, `swerve --version` (SPEC §1).
/// A plain `ParsableCommand`, never an async one: the master must stay single-threaded.
struct Swerve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swerve",
        abstract: "A preforking web server: static files, uploads and CGI scripts.",
        version: "swerve \(SwerveVersion.string)",
        subcommands: [Serve.self, Check.self, SignalCommand.self],
        defaultSubcommand: Serve.self
    )
}

/// `-c PATH`, shared by every subcommand.
struct ConfigOption: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("config")],
            help: "The config file (default: config/config.yaml if present, else /etc/swerve/config.yaml).")
    var path: String?

    var resolvedPath: String { path ?? ConfigLoader.defaultPath() }
}

Swerve.main()
