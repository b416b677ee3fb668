import CSwerveShims
import Glibc

/// A log destination that can be reopened (USR1, for logrotate): a path
/// opened with O_APPEND, or an inherited descriptor (stdout, stderr).
///
/// O_APPEND makes every write(2) land at the end of the file as one piece,
/// so whole lines written by several worker processes never interleave.
public final class LogFile: @unchecked Sendable {
    public let path: String?
    /// Fixed for the file's life: a reopen replaces what it refers to.
    public let descriptor: Int32
    /// Pipes only keep writes of up to PIPE_BUF bytes whole.
    public let atomicWriteLimit: Int

    /// Opens `path` for appending (created 0640), or uses `descriptor` when path is nil.
    public init(path: String?, descriptor: Int32) throws(LogFileError) {
        self.path = path
        if let path {
            self.descriptor = try Self.open(path)
        } else {
            self.descriptor = descriptor
        }
        atomicWriteLimit = Self.isPipe(self.descriptor) ? Int(PIPE_BUF) : 64 * 1024
    }

    deinit {
        if path != nil { close(descriptor) }
    }

    /// Opens the path anew and puts the new file under the same descriptor
    /// number (dup3 replaces it in one step), so a thread writing meanwhile
    /// writes whole lines to the old file or the new one — never to a closed
    /// descriptor, or to whatever file was opened next under its number.
    public func reopen() throws(LogFileError) {
        guard let path else { return }
        let fresh = try Self.open(path)
        if swerve_dup_cloexec(fresh, descriptor) < 0 {
            let reason = String(cString: strerror(errno))
            close(fresh)
            throw LogFileError(path: path, reason: reason)
        }
        close(fresh)
    }

    /// Writes all of `bytes` (retrying short writes and EINTR); errors are dropped,
    /// as a full disk must not take the server down.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    private static func open(_ path: String) throws(LogFileError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw LogFileError(path: path, reason: String(cString: strerror(errno))) }
        return fd
    }

    private static func isPipe(_ fd: Int32) -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT == S_IFIFO || info.st_mode & S_IFMT == S_IFSOCK)
    }
}

public struct LogFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot open log file '\(path)': \(reason)" }
}
