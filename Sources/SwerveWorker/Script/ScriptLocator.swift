import Glibc
import SwerveConfig

/// Finds which file under a script route's folder a request path names
/// (blocking: run it in the thread pool). As Apache's mod_cgi, the longest
/// prefix of the path that is an existing file is the script and the rest
/// is PATH_INFO: `/cgi-bin/app.py/a/b` → `/cgi-bin/app.py` + `/a/b`.
package struct ScriptLocator: Sendable {
    /// The route path without its trailing "/" ("/cgi-bin").
    var prefix: String
    var dir: String
    /// `dir` with symlinks resolved: a script must resolve below it.
    var realDir: String
    /// Extension with its dot (".py") → interpreter command.
    var interpreters: [String: String]
    /// Where interpreter commands are looked up (the route's PATH).
    var searchPath: String

    package init(prefix: String, dir: String, realDir: String, interpreters: [String: String], searchPath: String) {
        self.prefix = prefix
        self.dir = dir
        self.realDir = realDir
        self.interpreters = interpreters
        self.searchPath = searchPath
    }

    package enum Outcome: Equatable, Sendable {
        /// A file with an interpreter: run `arguments` (interpreter, its
        /// arguments, the script) for `script`.
        case run(script: CGIEnvironment.Script, arguments: [String])
        /// The script's interpreter is not installed.
        case interpreterMissing(command: String, script: String)
        /// Not a script: serve the path as a static file (or folder).
        case serveStatic
        case notFound
    }

    /// `path` is the normalised request path (dot segments already refused).
    package func locate(_ path: String) -> Outcome {
        let relative = path.dropFirst(prefix.count)
        var file = dir
        var consumed = prefix
        let segments = relative.split(separator: "/", omittingEmptySubsequences: true)
        for segment in segments {
            file += "/" + segment
            consumed += "/" + segment
            var info = stat()
            guard stat(file, &info) == 0 else { return .notFound }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                continue
            case S_IFREG:
                guard let interpreter = interpreter(for: String(segment)) else {
                    // "app.py~" would be served as text: the script's source.
                    return Self.looksLikeBackup(segment) ? .notFound : .serveStatic
                }
                // Resolved now, not at start: a folder reached through a symlink may be swapped (a deploy).
                guard FileLookup.resolves(file, inside: FileSystem.realPath(dir) ?? realDir) else { return .notFound }
                // The path is normalised (no "//"), so what follows the script is PATH_INFO as it came.
                let pathInfo = String(path.dropFirst(consumed.count))
                let words = interpreter.split(separator: " ").map(String.init)
                guard let command = words.first, let program = FileSystem.findExecutable(command, searchPath: searchPath) else {
                    return .interpreterMissing(command: interpreter, script: consumed)
                }
                let script = CGIEnvironment.Script(name: consumed, pathInfo: pathInfo, filename: file)
                return .run(script: script, arguments: [program] + words.dropFirst() + [file])
            default:
                return .notFound
            }
        }
        // The route's folder or one below it: listed, indexed or redirected as a static folder.
        return .serveStatic
    }

    /// Editors', patch's and admins' copies of a file — `app.py~`, `app.py.bak`,
    /// `#app.py#`, `app.py.swp` — hold a script's source: under a script route
    /// they are never served (dot-files such as `.app.py.swp` never are anyway).
    static func looksLikeBackup(_ name: Substring) -> Bool {
        if name.hasSuffix("~") || (name.hasPrefix("#") && name.hasSuffix("#")) { return true }
        guard let dot = name.lastIndex(of: ".") else { return false }
        return backupExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    static let backupExtensions: Set<String> = ["bak", "backup", "orig", "old", "save", "swp", "swo", "tmp", "rej", "dist", "copy"]

    /// The interpreter for a file name's extension (compared lower-case).
    func interpreter(for name: String) -> String? {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        return interpreters[name[dot...].lowercased()]
    }
}

/// Scripts found in the last second, so a busy script is started without a
/// trip to the thread pool (as `FileCache` does for static files). Only
/// `.run` answers are kept; a script replaced or removed shows within a
/// second. Bounded; event loop only.
final class ScriptLocationCache: @unchecked Sendable {
    private var entries: [String: (outcome: ScriptLocator.Outcome, expires: Int)] = [:]
    private let maxEntries: Int

    init(maxEntries: Int = 1024) {
        self.maxEntries = maxEntries
    }

    func get(_ path: String, now: Int) -> ScriptLocator.Outcome? {
        guard let entry = entries[path] else { return nil }
        guard entry.expires > now else {
            entries[path] = nil
            return nil
        }
        return entry.outcome
    }

    func put(_ outcome: ScriptLocator.Outcome, for path: String, now: Int) {
        guard case .run = outcome else { return }
        if entries.count >= maxEntries { entries.removeAll(keepingCapacity: true) }
        entries[path] = (outcome, now + 1)
    }
}
