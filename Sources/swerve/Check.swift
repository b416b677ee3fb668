import ArgumentParser
import Glibc
import SwerveConfig

/// `swerve check`: validate, print a one-line summary, or every problem as
/// `PATH:LINE:COL: error: MESSAGE` and exit 1.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate the config and print a summary.")

    @OptionGroup var config: ConfigOption

    func run() throws {
        let (loaded, _) = try loadValidConfig(config.resolvedPath)
        print("\(config.resolvedPath): ok — \(loaded.summary)")
    }
}

/// Loads the config, printing every diagnostic; exit status 1 when it has
/// errors. Returns it with its warnings (the master logs them too).
func loadValidConfig(_ path: String) throws -> (Config, warnings: [Diagnostic]) {
    let outcome = ConfigLoader.load(path: path)
    report(outcome.diagnostics)
    guard let loaded = outcome.config else { throw ExitCode(1) }
    return (loaded, outcome.diagnostics.warnings)
}

/// Prints diagnostics to stderr in file order, at most `limit` of them (a
/// mangled 10 MB file must not flood the terminal).
func report(_ diagnostics: Diagnostics, limit: Int = 100) {
    let sorted = diagnostics.sorted
    var lines = sorted.prefix(limit).map(\.description)
    if sorted.count > limit {
        lines.append("swerve: \(sorted.count - limit) more problems not shown")
    }
    for line in lines { writeStandardError(line + "\n") }
}

func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
