import Glibc
import NIOCore
import NIOHTTP1
import SwerveConfig

/// The blocking half of serving a static file — open, fstat, the real-path
/// check, index files, precompressed siblings, directory listings — done in
/// one trip to the thread pool so the event loop never waits on the disk.
package struct FileLookup: Sendable {
    /// What to serve.
    package enum Outcome: Sendable {
        /// An open file (the caller owns `descriptor`).
        case file(OpenedFile)
        /// A small file, read whole: served from memory and worth caching.
        case content(FileContent)
        /// A directory asked for without its trailing slash.
        case directoryWithoutSlash
        /// A directory without index: listed when autoindex is on.
        case listing([Autoindex.Entry])
        case forbidden
        case notFound
        /// The worker has no descriptor left to open the file (EMFILE/ENFILE):
        /// 503, not a 404 for a file that exists.
        case outOfDescriptors
    }

    /// What a response says about a file, formatted here in the pool thread
    /// (dates, ETag, type) so that cached answers reuse the strings.
    package struct FileFacts: Sendable {
        package var validators: FileValidators
        package var etag: String
        package var lastModified: String
        package var contentType: String
        /// "br" or "gzip" when a precompressed sibling is sent instead.
        package var contentEncoding: String?

        package var size: Int { validators.size }

        /// `Last-Modified` and `ETag`: what a 200 and a 304 both carry.
        func addValidators(to headers: inout HTTPHeaders) {
            headers.add(name: "Last-Modified", value: lastModified)
            headers.add(name: "ETag", value: etag)
        }

        /// What a response with the file's bytes says about them.
        func addRepresentation(to headers: inout HTTPHeaders) {
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Accept-Ranges", value: "bytes")
            if let contentEncoding { headers.add(name: "Content-Encoding", value: contentEncoding) }
        }
    }

    package struct OpenedFile: Sendable {
        package var descriptor: Int32
        package var facts: FileFacts
    }

    /// A small file's bytes and the facts its response needs, with the
    /// headers of a plain 200 encoded once (the cache keeps them a second).
    package struct FileContent: Sendable {
        package var bytes: ByteBuffer
        package var facts: FileFacts
        package var headers: PreparedHeaders

        package init(bytes: ByteBuffer, facts: FileFacts) {
            self.bytes = bytes
            self.facts = facts
            var headers = HTTPHeaders()
            facts.addValidators(to: &headers)
            facts.addRepresentation(to: &headers)
            headers.add(name: "Content-Length", value: String(bytes.readableBytes))
            self.headers = PreparedHeaders(headers)
        }
    }

    /// The folder files are served from, as configured: its real path is
    /// resolved at each lookup, so a root that is a symlink can be swapped to
    /// another release (the usual deploy) and is followed at once, as nginx does.
    var root: String
    /// Resolved by `lookup`.
    private(set) var realRoot = ""
    var mimeTypes: MIMETypes
    var index: [String]
    var autoindex: Bool
    /// Content codings the client accepts, in our order of preference.
    var encodings: [(coding: String, suffix: String)]

    /// Files up to this size are read into memory (one write with the head, and cacheable).
    package var smallFileLimit = 0

    package init(root: String, mimeTypes: MIMETypes, index: [String], autoindex: Bool,
                 encodings: [(coding: String, suffix: String)]) {
        self.root = root
        self.mimeTypes = mimeTypes
        self.index = index
        self.autoindex = autoindex
        self.encodings = encodings
    }

    /// `path` is root + the normalised request path; `wantsDirectory` when the request ended in "/".
    package func lookup(_ path: String, wantsDirectory: Bool) -> Outcome {
        var resolved = self
        guard let real = FileSystem.realPath(root) else { return .notFound }
        resolved.realRoot = real
        return resolved.lookupResolved(path, wantsDirectory: wantsDirectory)
    }

    private func lookupResolved(_ path: String, wantsDirectory: Bool) -> Outcome {
        let outcome = find(path, wantsDirectory: wantsDirectory)
        guard case .file(let file) = outcome, file.facts.size <= smallFileLimit else { return outcome }
        defer { close(file.descriptor) }
        guard let bytes = Self.readAll(file.descriptor, size: file.facts.size) else { return .notFound }
        var facts = file.facts
        // A file that shrank or grew between fstat and read: describe what was read.
        facts.validators.size = bytes.readableBytes
        facts.etag = facts.validators.etag
        return .content(FileContent(bytes: bytes, facts: facts))
    }

    private static func readAll(_ fd: Int32, size: Int) -> ByteBuffer? {
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        var offset = 0
        while offset < size {
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size - offset) { raw in
                max(0, pread(fd, raw.baseAddress, size - offset, off_t(offset)))
            }
            if count == 0 { break }  // the file shrank: serve what is there
            offset += count
        }
        return buffer
    }

    private func find(_ path: String, wantsDirectory: Bool) -> Outcome {
        var info = stat()
        guard stat(path, &info) == 0 else { return errno == EACCES ? .forbidden : .notFound }
        if info.st_mode & S_IFMT == S_IFDIR {
            // Even the existence of a folder outside the root is not told.
            guard isInsideRoot(path) else { return .notFound }
            guard wantsDirectory else { return .directoryWithoutSlash }
            let folder = path.hasSuffix("/") ? path : path + "/"
            for name in index {
                switch open(folder + name, typePath: folder + name) {
                case .file(let file): return .file(file)
                case .forbidden: return .forbidden
                default: continue
                }
            }
            guard autoindex else { return .forbidden }
            return Autoindex.read(folder, realRoot: realRoot).map { .listing($0) } ?? .forbidden
        }
        guard info.st_mode & S_IFMT == S_IFREG else { return .notFound }
        // "/file.txt/" names a file as if it were a folder: not found, as nginx.
        guard !wantsDirectory else { return .notFound }
        for (coding, suffix) in encodings {
            if case .file(var file) = open(path + suffix, typePath: path) {
                file.facts.contentEncoding = coding
                return .file(file)
            }
        }
        return open(path, typePath: path)
    }

    /// Opens a regular file and proves, from the opened descriptor, that it
    /// lies inside the root: no symlink or race can lead the server out.
    private func open(_ path: String, typePath: String) -> Outcome {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return Self.outcome(ofFailedOpen: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, isInsideRoot(descriptor: fd) else {
            close(fd)
            return .notFound
        }
        let validators = FileValidators(modified: Int(info.st_mtim.tv_sec), size: Int(info.st_size))
        let facts = FileFacts(validators: validators, etag: validators.etag, lastModified: validators.lastModified,
                              contentType: mimeTypes.type(forPath: typePath), contentEncoding: nil)
        return .file(OpenedFile(descriptor: fd, facts: facts))
    }

    static func outcome(ofFailedOpen code: Int32) -> Outcome {
        switch code {
        case EACCES: return .forbidden
        case EMFILE, ENFILE: return .outOfDescriptors
        default: return .notFound
        }
    }

    private func isInsideRoot(descriptor fd: Int32) -> Bool {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0 else { return false }
        let real = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Self.isInside(real, root: realRoot)
    }

    func isInsideRoot(_ path: String) -> Bool {
        Self.resolves(path, inside: realRoot)
    }

    /// `path` with symlinks resolved lies in `root` (a real path).
    static func resolves(_ path: String, inside root: String) -> Bool {
        guard let resolved = realpath(path, nil) else { return false }
        defer { free(resolved) }
        return isInside(String(cString: resolved), root: root)
    }

    package static func isInside(_ path: String, root: String) -> Bool {
        FileSystem.isInside(path, root: root)
    }
}
