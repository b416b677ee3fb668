import Glibc

/// The blocking half of serving a static file — open, fstat, the real-path
/// check, index files, precompressed siblings, directory listings — done in
/// one trip to the thread pool so the event loop never waits on the disk.
struct FileLookup: Sendable {
    /// What to serve.
    enum Outcome: Sendable {
        /// An open file (the caller owns `descriptor`).
        case file(OpenedFile)
        /// A directory asked for without its trailing slash.
        case directoryWithoutSlash
        /// A directory without index: listed when autoindex is on.
        case listing([Autoindex.Entry])
        case forbidden
        case notFound
    }

    struct OpenedFile: Sendable {
        var descriptor: Int32
        var size: Int
        var modified: Int
        /// The path whose extension decides the Content-Type (never the .br/.gz sibling).
        var typePath: String
        /// "br" or "gzip" when a precompressed sibling is sent instead.
        var contentEncoding: String?
    }

    var realRoot: String
    var index: [String]
    var autoindex: Bool
    /// Content codings the client accepts, in our order of preference.
    var encodings: [(coding: String, suffix: String)]

    /// `path` is root + the normalised request path; `wantsDirectory` when the request ended in "/".
    func lookup(_ path: String, wantsDirectory: Bool) -> Outcome {
        var info = stat()
        guard stat(path, &info) == 0 else { return errno == EACCES ? .forbidden : .notFound }
        if info.st_mode & S_IFMT == S_IFDIR {
            guard wantsDirectory else { return .directoryWithoutSlash }
            let folder = path.hasSuffix("/") ? path : path + "/"
            for name in index {
                switch open(folder + name, typePath: folder + name) {
                case .file(let file): return .file(file)
                case .forbidden: return .forbidden
                default: continue
                }
            }
            guard autoindex, isInsideRoot(folder) else { return .forbidden }
            return Autoindex.read(folder).map { .listing($0) } ?? .forbidden
        }
        guard info.st_mode & S_IFMT == S_IFREG else { return .notFound }
        // "/file.txt/" names a file as if it were a folder: not found, as nginx.
        guard !wantsDirectory else { return .notFound }
        for (coding, suffix) in encodings {
            if case .file(var file) = open(path + suffix, typePath: path) {
                file.contentEncoding = coding
                return .file(file)
            }
        }
        return open(path, typePath: path)
    }

    /// Opens a regular file and proves, from the opened descriptor, that it
    /// lies inside the root: no symlink or race can lead the server out.
    private func open(_ path: String, typePath: String) -> Outcome {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return errno == EACCES ? .forbidden : .notFound }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, isInsideRoot(descriptor: fd) else {
            close(fd)
            return .notFound
        }
        return .file(OpenedFile(descriptor: fd, size: Int(info.st_size), modified: Int(info.st_mtim.tv_sec),
                                typePath: typePath, contentEncoding: nil))
    }

    private func isInsideRoot(descriptor fd: Int32) -> Bool {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0 else { return false }
        let real = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Self.isInside(real, root: realRoot)
    }

    private func isInsideRoot(_ path: String) -> Bool {
        guard let resolved = realpath(path, nil) else { return false }
        defer { free(resolved) }
        return Self.isInside(String(cString: resolved), root: realRoot)
    }

    static func isInside(_ path: String, root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }
}
