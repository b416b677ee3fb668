import Glibc
import SwerveConfig

/// The helper's files under `acme.storage` (layout: `ACMEStorage`). Every
/// write goes to a temporary file in the same folder, is synced, and is
/// renamed over the old one, so a reader sees the old file or the new one,
/// never half of one; `stage` and `commit` split the two steps, so that a
/// key and its chain are swapped one right after the other. Keys are 0600;
/// challenge answers 0644 in 0755 folders, since workers (another user,
/// maybe) serve them.
package enum StorageFiles {
    /// Creates the folders; as root, hands the ones it creates to `owner`
    /// (the helper's user) — never one that existed, and never through a
    /// symbolic link, so a link planted by that user cannot make root give
    /// it some other folder.
    static func prepare(_ layout: ACMEStorage, owner: (uid: uid_t, gid: gid_t)?) throws {
        let folders: [(String, mode_t)] = [
            (layout.root, 0o755), (layout.root + "/accounts", 0o700), (layout.accountFolder, 0o700),
            (layout.root + "/certificates", 0o700), (layout.challenges, 0o755), (layout.alpnChallenges, 0o755),
        ]
        for (folder, mode) in folders {
            let created = try makeFolders(folder, mode: mode)
            guard created, let owner else { continue }
            let fd = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw ACMEError.local("cannot open folder \(folder): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            _ = fchown(fd, owner.uid, owner.gid)
        }
    }

    /// `mkdir -p`, the last component with `mode`; true when it made the last one.
    @discardableResult
    static func makeFolders(_ path: String, mode: mode_t) throws -> Bool {
        var built = ""
        var created = false
        let parts = path.split(separator: "/")
        for (index, part) in parts.enumerated() {
            built += "/" + part
            let last = index == parts.count - 1
            if mkdir(built, last ? mode : 0o755) == 0 {
                created = last
            } else if errno != EEXIST {
                throw ACMEError.local("cannot create folder \(built): \(String(cString: strerror(errno)))")
            }
        }
        return created
    }

    /// A file's new content, written and synced beside it, waiting for its rename.
    package struct Staged {
        package let temporary: String
        package let path: String
    }

    /// Replaces the file atomically: a reader sees the old bytes or the new.
    package static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        try commit(stage(bytes, for: path, mode: mode))
    }

    /// The slow part of a write (the bytes and the fsync), so that several
    /// files can then be swapped one right after the other.
    package static func stage(_ bytes: [UInt8], for path: String, mode: mode_t) throws -> Staged {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw ACMEError.local("cannot write \(path): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw ACMEError.local("cannot write \(path): \(reason)")
            }
            written += count
        }
        _ = fchmod(fd, mode)  // whatever the umask did
        let synced = fsync(fd) == 0
        let reason = String(cString: strerror(errno))
        close(fd)
        guard synced else {
            unlink(temporary)
            throw ACMEError.local("cannot write \(path): \(reason)")
        }
        return Staged(temporary: temporary, path: path)
    }

    package static func commit(_ staged: Staged) throws {
        guard rename(staged.temporary, staged.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(staged.temporary)
            throw ACMEError.local("cannot write \(staged.path): \(reason)")
        }
    }

    package static func discard(_ staged: Staged) { unlink(staged.temporary) }

    /// The file's bytes; nil when it cannot be read, for whatever reason
    /// (`exists` tells a missing file from an unreadable one).
    static func read(_ path: String) -> [UInt8]? {
        guard case .success(let bytes) = FileSystem.readFile(path, limit: 1 << 20) else { return nil }
        return bytes
    }

    static func remove(_ path: String) { unlink(path) }

    static func exists(_ path: String) -> Bool { FileSystem.kind(of: path) != .missing }
}
