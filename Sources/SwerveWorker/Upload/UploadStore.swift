import Glibc

/// The blocking file-system half of an upload, run in the thread pool:
/// temporary files created with O_EXCL (mode 0640), written with pwrite,
/// fsynced, then linked to a free final name — `link(2)` fails instead of
/// overwriting, so two workers storing "photo.jpg" at once get "photo.jpg"
/// and "photo-1.jpg" — and the directory fsynced before we answer.
enum UploadStore {
    struct Failure: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
        /// ENOSPC and EDQUOT are the client's 507, anything else our 500.
        var isOutOfSpace: Bool { code == ENOSPC || code == EDQUOT }
    }

    /// Creates `.swerve-upload-…` in `dir`; returns its name and descriptor.
    static func createTemporary(in dir: String) throws(Failure) -> (name: String, fd: Int32) {
        for _ in 0..<16 {
            let name = ".swerve-upload-\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let fd = open(dir + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
            if fd >= 0 { return (name, fd) }
            if errno != EEXIST { throw Failure(call: "create a temporary file in \(dir)", code: errno) }
        }
        throw Failure(call: "create a temporary file in \(dir)", code: EEXIST)
    }

    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Failure) {
        var done = 0
        while done < bytes.count {
            let count = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(call: "write", code: errno)
            }
            done += count
        }
    }

    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int) throws(Failure) {
        // Array's withUnsafeBytes only rethrows untyped errors: carry ours out by value.
        let failure: Failure? = bytes.withUnsafeBytes { raw in
            do throws(Failure) {
                try write(fd, raw, at: offset)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    static func sync(_ fd: Int32) throws(Failure) {
        guard fsync(fd) == 0 else { throw Failure(call: "fsync", code: errno) }
    }

    /// Links `temporary` to the first free name among `name`, `name-1`, …
    /// (and, with a sidecar, a free `NAME.json` beside it), then removes the
    /// temporary name. Returns the stored name.
    static func publish(_ temporary: String, as name: String, in dir: String, sidecar: ((String) -> String)?) throws(Failure) -> String {
        for number in 0..<10_000 {
            let candidate = SafeFileName.numbered(name, number)
            if link(dir + "/" + temporary, dir + "/" + candidate) != 0 {
                if errno == EEXIST { continue }
                throw Failure(call: "link \(candidate)", code: errno)
            }
            if let sidecar {
                do throws(Failure) {
                    guard try writeNew(dir + "/" + candidate + ".json", sidecar(candidate)) else {
                        unlink(dir + "/" + candidate)  // someone owns NAME.json: take the next name
                        continue
                    }
                } catch {
                    unlink(dir + "/" + candidate)
                    throw error
                }
            }
            unlink(dir + "/" + temporary)
            return candidate
        }
        throw Failure(call: "find a free name for \(name)", code: EEXIST)
    }

    /// Writes a new file (O_EXCL) and fsyncs it; false when it already exists.
    static func writeNew(_ path: String, _ text: String) throws(Failure) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw Failure(call: "create \(path)", code: errno)
        }
        defer { close(fd) }
        try write(fd, Array(text.utf8), at: 0)
        try sync(fd)
        return true
    }

    /// Makes the new directory entries durable.
    static func syncDirectory(_ dir: String) throws(Failure) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(call: "open \(dir)", code: errno) }
        defer { close(fd) }
        try sync(fd)
    }

    /// Best effort: a temporary file of a refused or aborted upload.
    static func discard(_ temporary: String, fd: Int32?, in dir: String) {
        if let fd { close(fd) }
        unlink(dir + "/" + temporary)
    }
}
