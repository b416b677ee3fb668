import Glibc

/// Reads, decodes and validates a config file: the one entry point the CLI,
/// the master (at start and on every reload) and the tests use.
public enum ConfigLoader {
    /// Config files are small; anything larger is refused before parsing.
    public static let maxFileSize = 4 << 20

    public struct Outcome: Sendable {
        /// Present only when there are no errors (warnings are allowed).
        public var config: Config?
        /// What decoded despite errors, defaults elsewhere: for `swerve signal`,
        /// which needs only the pid file of a config that may be mid-edit.
        public var decoded: Config
        public var diagnostics: Diagnostics
    }

    /// `config/config.yaml` when it exists in the working directory, else
    /// `/etc/swerve/config.yaml` (SPEC §1).
    public static func defaultPath() -> String {
        FileSystem.kind(of: "config/config.yaml") == .file ? "config/config.yaml" : "/etc/swerve/config.yaml"
    }

    /// Loads the file at `path`; relative paths inside it resolve against its folder.
    public static func load(path: String) -> Outcome {
        let absolute = FileSystem.resolve(path, relativeTo: FileSystem.currentDirectory())
        switch FileSystem.readFile(path, limit: maxFileSize) {
        case .success(let bytes):
            return load(bytes: bytes, file: path, directory: FileSystem.parent(of: absolute))
        case .failure(let failure):
            var diagnostics = Diagnostics(file: path)
            switch failure {
            case .cannotOpen(let reason):
                diagnostics.error("cannot read the config file: \(reason)", at: .start)
            case .tooLarge:
                diagnostics.error("the config file is larger than \(maxFileSize >> 20) MiB; refusing to parse it", at: .start)
            }
            return Outcome(config: nil, decoded: Config(file: path, directory: FileSystem.parent(of: absolute)), diagnostics: diagnostics)
        }
    }

    /// Loads config text; `file` names it in messages, `directory` anchors relative paths.
    public static func load(bytes: [UInt8], file: String, directory: String) -> Outcome {
        let root: Node?
        do {
            root = try YAMLReader.read(bytes)
        } catch {
            var diagnostics = Diagnostics(file: file)
            diagnostics.error(error.message, at: error.mark)
            return Outcome(config: nil, decoded: Config(file: file, directory: directory), diagnostics: diagnostics)
        }
        var decoder = ConfigDecoder(file: file, directory: directory)
        var (config, decoded) = decoder.decode(root)
        var validator = ConfigValidator(config: config, diagnostics: decoded)
        var diagnostics = validator.validate()
        CertificateFiles.load(into: &config, diagnostics: &diagnostics, now: Int64(time(nil)))
        return Outcome(config: diagnostics.hasErrors ? nil : config, decoded: config, diagnostics: diagnostics)
    }

    public static func load(text: String, file: String = "config.yaml", directory: String) -> Outcome {
        load(bytes: Array(text.utf8), file: file, directory: directory)
    }
}

extension Config {
    /// "1 vhost, 3 routes, listening on 0.0.0.0:8080, [::]:8080", for `swerve check` and the master's start line.
    public var summary: String {
        let vhosts = vhosts.count == 1 ? "1 vhost" : "\(vhosts.count) vhosts"
        let routes = routeCount == 1 ? "1 route" : "\(routeCount) routes"
        let addresses = listenAddresses.map(\.description).joined(separator: ", ")
        return "\(vhosts), \(routes), listening on \(addresses)"
    }
}
