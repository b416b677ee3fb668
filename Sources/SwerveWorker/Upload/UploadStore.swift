import Glibc
import NIOCore

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
        /// EMFILE and ENFILE: the worker's (or system's) descriptors ran out, a 503.
        var isOutOfDescriptors: Bool { code == EMFILE || code == ENFILE }
    }

    /// Creates `.swerve-upload-…` in `dir`; returns its name and descriptor.
    static func createTemporary(in dir: String) throws(Failure) -> (name: String, fd: Int32) {
        for _ in 0..<16 {
            let name = UploadLeftovers.prefix + "\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
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

    /// Writes `buffers` one after the other from `offset` with pwritev (no copy).
    static func write(_ fd: Int32, _ buffers: [ByteBuffer], at offset: Int) throws(Failure) {
        // The vectors point into the buffers' storage, which `buffers` keeps
        // alive and unchanged for this call (as NIO's own writev does).
        var vectors = buffers.map { buffer in
            buffer.withUnsafeReadableBytes { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        }
        var first = 0
        var position = offset
        while first < vectors.count {
            let count = vectors.withUnsafeMutableBufferPointer { all in
                pwritev(fd, all.baseAddress! + first, Int32(min(all.count - first, 1024)), off_t(position))  // IOV_MAX
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(call: "write", code: errno)
            }
            position += count
            // Skip what was written; a vector written in part starts further on.
            var left = count
            while first < vectors.count && left >= vectors[first].iov_len {
                left -= vectors[first].iov_len
                first += 1
            }
            if left > 0 {
                vectors[first].iov_base = vectors[first].iov_base.map { $0 + left }
                vectors[first].iov_len -= left
            }
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

    /// Sidecars live in this folder of the upload `dir`: a dot-folder, which
    /// static routes never serve (a sidecar holds every form field).
    public static let metadataFolder = ".meta"

    /// A complete, fsynced file waiting to be published.
    struct Staged: Sendable {
        var temporary: String
        var name: String
        /// The sidecar's text for a stored name; nil without metadata.
        var sidecar: (@Sendable (String) -> String)?
    }

    /// Publishes every file of one request, or none: each is linked to the
    /// first free name among `name`, `name-1`, … (with its sidecar, written
    /// to a temporary file and fsynced first, linked to a free
    /// `.meta/NAME.json`); then the folders are fsynced. On any failure —
    /// a full disk at the second sidecar, say — what this call published is
    /// removed again, so a failed request publishes nothing, and the temporary
    /// files stay for the caller to discard. Returns the stored names in order.
    static func publishAll(_ files: [Staged], in dir: String) throws(Failure) -> [String] {
        var published: [String] = []
        let metadata = dir + "/" + metadataFolder
        let withSidecars = files.contains { $0.sidecar != nil }
        if withSidecars {
            guard mkdir(metadata, 0o750) == 0 || errno == EEXIST else { throw Failure(call: "create \(metadata)", code: errno) }
        }
        do throws(Failure) {
            for file in files {
                published.append(try publish(file, in: dir, metadata: metadata))
            }
            try syncDirectory(dir)
            if withSidecars { try syncDirectory(metadata) }
            for file in files { unlink(dir + "/" + file.temporary) }
        } catch {
            for name in published {
                unlink(dir + "/" + name)
                unlink(metadata + "/" + name + ".json")
            }
            throw error
        }
        return published
    }

    /// One file: a free name, then its sidecar under a free `.meta/NAME.json`.
    private static func publish(_ file: Staged, in dir: String, metadata: String) throws(Failure) -> String {
        for number in 0..<10_000 {
            let candidate = SafeFileName.numbered(file.name, number)
            if link(dir + "/" + file.temporary, dir + "/" + candidate) != 0 {
                if errno == EEXIST { continue }
                throw Failure(call: "link \(candidate)", code: errno)
            }
            guard let sidecar = file.sidecar else { return candidate }
            do throws(Failure) {
                if try linkSidecar(sidecar(candidate), as: candidate + ".json", in: metadata) { return candidate }
            } catch {
                unlink(dir + "/" + candidate)
                throw error
            }
            // A sidecar of that name is there without its file: take the next name.
            unlink(dir + "/" + candidate)
        }
        throw Failure(call: "find a free name for \(file.name)", code: EEXIST)
    }

    /// Writes `text` to a temporary file, fsyncs it and links it to `name`:
    /// a torn or empty sidecar never appears under its name. False when
    /// `name` exists.
    private static func linkSidecar(_ text: String, as name: String, in folder: String) throws(Failure) -> Bool {
        let (temporary, fd) = try createTemporary(in: folder)
        defer { unlink(folder + "/" + temporary) }
        defer { close(fd) }
        try write(fd, Array(text.utf8), at: 0)
        try sync(fd)
        if link(folder + "/" + temporary, folder + "/" + name) == 0 { return true }
        guard errno == EEXIST else { throw Failure(call: "link \(name)", code: errno) }
        return false
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
