import Glibc

/// The few file-system questions config loading asks, answered with plain
/// libc calls: no Foundation, because the master that loads the config
/// must never start a thread.
public enum FileSystem {
    /// Joins `path` to `directory` unless it is absolute, then removes `.`,
    /// `..` and repeated slashes lexically (symlinks are left alone).
    public static func resolve(_ path: String, relativeTo directory: String) -> String {
        normalise(path.hasPrefix("/") ? path : directory + "/" + path)
    }

    /// Lexical normalisation of an absolute path; `..` above `/` stays at `/`.
    public static func normalise(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The process's working directory, or "/" if it cannot be read.
    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Parent folder of an absolute path ("/" for "/x").
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// The symlink-free path, or nil when it does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `path` lies in `root` (both real paths): the containment rule for everything served.
    public static func isInside(_ path: String, root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }

    /// `path`, with symlinks resolved, lies in `root` (resolved too).
    public static func resolves(_ path: String, inside root: String) -> Bool {
        guard let real = realPath(path), let realRoot = realPath(root) else { return false }
        return isInside(real, root: realRoot)
    }

    public enum Kind: Sendable { case missing, directory, file, other }

    public static func kind(of path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .file
        default: return .other
        }
    }

    /// A user's name, or their uid as text when the passwd database has none.
    public static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid) else { return String(uid) }
        return String(cString: entry.pointee.pw_name)
    }

    public static func isAccessible(_ path: String, mode: Int32) -> Bool {
        access(path, mode) == 0
    }

    /// Reads a whole file, refusing anything larger than `limit` bytes.
    public static func readFile(_ path: String, limit: Int) -> Result<[UInt8], FileError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.cannotOpen(errnoText())) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.cannotOpen(errnoText())) }
        guard info.st_mode & S_IFMT != S_IFDIR else { return .failure(.cannotOpen("is a directory")) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(.cannotOpen(errnoText()))
            }
            if count == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { return .failure(.tooLarge) }
        }
    }

    public enum FileError: Error, Equatable, Sendable {
        case cannotOpen(String)
        case tooLarge
    }

    /// Finds an executable: a name with a slash is checked as it is, a bare
    /// name is searched in `searchPath` (colon-separated), as execvp does.
    public static func findExecutable(_ command: String, searchPath: String) -> String? {
        if command.contains("/") {
            return kind(of: command) == .file && isAccessible(command, mode: X_OK) ? command : nil
        }
        for folder in searchPath.split(separator: ":") {
            let candidate = String(folder) + "/" + command
            if kind(of: candidate) == .file, isAccessible(candidate, mode: X_OK) { return candidate }
        }
        return nil
    }

    /// strerror(errno) as a Swift string.
    public static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }
}
