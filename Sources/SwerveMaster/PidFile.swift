import Glibc
import SwerveConfig

/// The master's pid file: written at start, removed at exit, read by
/// `swerve signal` to find the master.
public enum PidFile {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case cannotRead(path: String, reason: String)
        case malformed(path: String)
        case cannotWrite(path: String, reason: String)

        public var description: String {
            switch self {
            case .cannotRead(let path, let reason): return "cannot read pid file '\(path)': \(reason)"
            case .malformed(let path): return "pid file '\(path)' does not hold a process id"
            case .cannotWrite(let path, let reason): return "cannot write pid file '\(path)': \(reason)"
            }
        }
    }

    /// Writes "PID\n" (mode 0644) through a temporary file and rename, so a
    /// reader never sees a half-written file.
    public static func write(_ pid: pid_t, to path: String) throws(Failure) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotWrite(path: path, reason: FileSystem.errnoText()) }
        let text = Array("\(pid)\n".utf8)
        let written = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == text.count, rename(temporary, path) == 0 else {
            let reason = FileSystem.errnoText()
            unlink(temporary)
            throw .cannotWrite(path: path, reason: reason)
        }
    }

    public static func read(_ path: String) throws(Failure) -> pid_t {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotRead(path: path, reason: FileSystem.errnoText()) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { throw .malformed(path: path) }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingWhitespace
        guard let pid = pid_t(text), pid > 0 else { throw .malformed(path: path) }
        return pid
    }

    /// Removes the file only if it still names `pid` (a newer master may own it).
    public static func remove(_ path: String, ifOwnedBy pid: pid_t) {
        if (try? read(path)) == pid { unlink(path) }
    }

}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
