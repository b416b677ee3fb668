import Glibc
import SwerveConfig

/// Temporary upload files (`.swerve-upload-PID-…`) whose worker died before
/// it could remove them — a crash, a SIGKILL at the drain deadline. The
/// master removes them when it reaps that worker, and at start-up those of
/// any process that no longer exists (a server killed as a whole).
public enum UploadLeftovers {
    /// Every temporary name starts with this, then the creating pid and "-".
    static let prefix = ".swerve-upload-"

    /// The pid a temporary name was made by; nil for any other name.
    static func owner(of name: String) -> pid_t? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.utf8.dropFirst(prefix.utf8.count)
        guard let dash = rest.firstIndex(of: UInt8(ascii: "-")) else { return nil }
        return pid_t(String(decoding: rest[..<dash], as: UTF8.self))
    }

    /// Removes the leftovers of `pid` in `dirs` (or, with nil, of every pid
    /// that no longer runs). Returns how many were removed.
    @discardableResult
    public static func remove(in dirs: [String], ownedBy pid: pid_t?) -> Int {
        var removed = 0
        for dir in Set(dirs) {
            guard let stream = opendir(dir) else { continue }
            defer { closedir(stream) }
            let folder = dirfd(stream)
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard let owner = owner(of: name) else { continue }
                let dead = pid.map { owner == $0 } ?? (kill(owner, 0) != 0 && errno == ESRCH)
                if dead && unlinkat(folder, name, 0) == 0 { removed += 1 }
            }
        }
        return removed
    }

    /// The upload folders of a config, with their metadata folders (where sidecars are staged).
    public static func folders(_ config: Config) -> [String] {
        config.vhosts.flatMap(\.routes).flatMap { route -> [String] in
            guard case .upload(let upload) = route.kind else { return [] }
            return [upload.dir, upload.dir + "/" + UploadStore.metadataFolder]
        }
    }
}
