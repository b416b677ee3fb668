import Foundation
import Glibc
import NIOCore
import SwerveConfig
import Testing
import SwerveWorker

/// base/root (the served root) and base/outside (never to be served), under a
/// fresh temporary folder; every path is real (symlinks resolved).
private struct Sandbox {
    let base: String
    let root: String
    let outside: String

    init() throws {
        let tmp = FileManager.default.temporaryDirectory.path + "/swerve-lookup-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let resolved = try #require(realpath(tmp, nil))
        base = String(cString: resolved)
        free(resolved)
        root = base + "/root"
        outside = base + "/outside"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
    }

    func file(_ path: String, _ contents: String, modified: Int? = nil) throws {
        try #require(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8)))
        if let modified {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: Double(modified))],
                                                  ofItemAtPath: path)
        }
    }

    func folder(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func link(_ path: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: destination)
    }

    /// `smallFileLimit` -1: every file comes back open (`.file`), never read into memory.
    func lookup(index: [String] = ["index.html"], autoindex: Bool = false,
                encodings: [(coding: String, suffix: String)] = [], smallFileLimit: Int = -1) -> FileLookup {
        var lookup = FileLookup(root: root, mimeTypes: MIMETypes(), index: index, autoindex: autoindex,
                                encodings: encodings)
        lookup.smallFileLimit = smallFileLimit
        return lookup
    }

    func remove() { try? FileManager.default.removeItem(atPath: base) }
}

private let brAndGzip: [(coding: String, suffix: String)] = [("br", ".br"), ("gzip", ".gz")]

/// What an outcome serves: a file's facts and body, whether it came back open
/// (`.file`) or read (`.content`); recorded as an issue (and nil) otherwise.
private struct Served {
    var facts: FileLookup.FileFacts
    var body: String
    /// Set for `.file`: the caller owns it.
    var descriptor: Int32?

    var size: Int { facts.size }
    var modified: Int { facts.validators.modified }
    var contentType: String { facts.contentType }
    var contentEncoding: String? { facts.contentEncoding }
}

private func opened(_ outcome: FileLookup.Outcome, sourceLocation: SourceLocation = #_sourceLocation) -> Served? {
    switch outcome {
    case .file(let file):
        return Served(facts: file.facts, body: contents(of: file.descriptor), descriptor: file.descriptor)
    case .content(let content):
        return Served(facts: content.facts, body: String(buffer: content.bytes), descriptor: nil)
    default:
        Issue.record("expected a file, got \(outcome)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Everything the descriptor reads from offset 0.
private func contents(of fd: Int32) -> String {
    var bytes = [UInt8](repeating: 0, count: 4096)
    let count = pread(fd, &bytes, bytes.count, 0)
    return count >= 0 ? String(decoding: bytes[0..<count], as: UTF8.self) : "<read error \(errno)>"
}

/// Closes a returned descriptor (the caller of `lookup` owns it).
private func closeIfOpened(_ outcome: FileLookup.Outcome) {
    if case .file(let file) = outcome { close(file.descriptor) }
}

private func isNotFound(_ outcome: FileLookup.Outcome) -> Bool {
    if case .notFound = outcome { return true }
    return false
}

private func isForbidden(_ outcome: FileLookup.Outcome) -> Bool {
    if case .forbidden = outcome { return true }
    return false
}

private func isDirectoryWithoutSlash(_ outcome: FileLookup.Outcome) -> Bool {
    if case .directoryWithoutSlash = outcome { return true }
    return false
}

private func listing(_ outcome: FileLookup.Outcome) -> [Autoindex.Entry]? {
    if case .listing(let entries) = outcome { return entries }
    return nil
}

/// Something the server could send: a file or a listing.
private func servesSomething(_ outcome: FileLookup.Outcome) -> Bool {
    switch outcome {
    case .file, .content, .listing: return true
    default: return false
    }
}

@Suite struct FileLookupTests {
    // MARK: regular files

    @Test func regularFileIsFoundWithSizeAndTime() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/a.txt", "hello", modified: 784_111_777)

        let outcome = box.lookup().lookup(box.root + "/a.txt", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        let file = try #require(opened(outcome))
        #expect(file.size == 5)
        #expect(file.modified == 784_111_777)
        #expect(file.contentType == "text/plain; charset=utf-8")
        #expect(file.contentEncoding == nil)
        #expect(file.facts.etag == FileValidators(modified: 784_111_777, size: 5).etag)
        #expect(file.facts.lastModified == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(file.body == "hello")
        let fd = try #require(file.descriptor)
        #expect(fd >= 0)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func emptyFileIsFound() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/empty", "")
        let outcome = box.lookup().lookup(box.root + "/empty", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        #expect(opened(outcome)?.size == 0)
    }

    @Test func missingFileIsNotFound() throws {
        let box = try Sandbox()
        defer { box.remove() }
        #expect(isNotFound(box.lookup().lookup(box.root + "/missing.txt", wantsDirectory: false)))
        #expect(isNotFound(box.lookup().lookup(box.root + "/missing/", wantsDirectory: true)))
        #expect(isNotFound(box.lookup().lookup(box.root + "/no/such/file", wantsDirectory: false)))
    }

    @Test func fileAskedForAsFolderIsNotFound() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/file", "x")
        let outcome = box.lookup().lookup(box.root + "/file/", wantsDirectory: true)
        defer { closeIfOpened(outcome) }
        #expect(isNotFound(outcome))
    }

    @Test func fifoIsNotFound() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try #require(mkfifo(box.root + "/pipe", 0o644) == 0)
        let outcome = box.lookup().lookup(box.root + "/pipe", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        #expect(isNotFound(outcome))
    }

    // MARK: symlinks

    @Test func symlinkInsidePointingOutsideIsNotFound() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.outside + "/secret.txt", "secret")
        try box.link(box.root + "/absolute.txt", to: box.outside + "/secret.txt")
        try box.link(box.root + "/relative.txt", to: "../outside/secret.txt")
        try box.link(box.root + "/etc-passwd", to: "/etc/passwd")

        for name in ["absolute.txt", "relative.txt", "etc-passwd"] {
            let outcome = box.lookup().lookup(box.root + "/" + name, wantsDirectory: false)
            defer { closeIfOpened(outcome) }
            #expect(isNotFound(outcome), "\(name)")
        }
    }

    @Test func symlinkToSiblingWithRootAsNamePrefixIsNotFound() throws {
        // base/root2 starts with "base/root" but is not inside it.
        let box = try Sandbox()
        defer { box.remove() }
        try box.folder(box.root + "2")
        try box.file(box.root + "2/x.txt", "x")
        try box.link(box.root + "/x.txt", to: box.root + "2/x.txt")
        let outcome = box.lookup().lookup(box.root + "/x.txt", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        #expect(isNotFound(outcome))
    }

    @Test func symlinkedFolderLeadingOutsideServesNothing() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.outside + "/secret.txt", "secret")
        try box.file(box.outside + "/index.html", "<p>outside</p>")
        try box.link(box.root + "/ext", to: box.outside)

        let file = box.lookup().lookup(box.root + "/ext/secret.txt", wantsDirectory: false)
        defer { closeIfOpened(file) }
        #expect(isNotFound(file))

        for autoindex in [false, true] {
            let folder = box.lookup(autoindex: autoindex).lookup(box.root + "/ext/", wantsDirectory: true)
            defer { closeIfOpened(folder) }
            #expect(!servesSomething(folder), "autoindex \(autoindex): \(folder)")
        }
    }

    @Test func symlinkInsidePointingInsideIsFound() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.folder(box.root + "/real")
        try box.file(box.root + "/real/a.txt", "inside")
        try box.link(box.root + "/absolute.txt", to: box.root + "/real/a.txt")
        try box.link(box.root + "/relative.txt", to: "real/a.txt")
        try box.link(box.root + "/docs", to: "real")

        for name in ["absolute.txt", "relative.txt", "docs/a.txt"] {
            let outcome = box.lookup().lookup(box.root + "/" + name, wantsDirectory: false)
            defer { closeIfOpened(outcome) }
            let file = opened(outcome)
            #expect(file?.size == 6, "\(name)")
            #expect(file?.contentType == "text/plain; charset=utf-8")
            #expect(file?.body == "inside")
        }
    }

    @Test func rootReachedThroughASymlinkStillServes() throws {
        // The vhost's root may itself be a symlink; realRoot is its resolved form.
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/a.txt", "abc")
        try box.link(box.base + "/current", to: box.root)
        let outcome = box.lookup().lookup(box.base + "/current/a.txt", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        #expect(opened(outcome)?.size == 3)
    }

    // MARK: folders

    @Test func folderWithoutSlashRedirects() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.folder(box.root + "/sub")
        try box.file(box.root + "/sub/index.html", "i")
        #expect(isDirectoryWithoutSlash(box.lookup().lookup(box.root + "/sub", wantsDirectory: false)))
        #expect(isDirectoryWithoutSlash(box.lookup(autoindex: true).lookup(box.root + "/sub", wantsDirectory: false)))
        try box.folder(box.root + "/empty")
        #expect(isDirectoryWithoutSlash(box.lookup().lookup(box.root + "/empty", wantsDirectory: false)))
    }

    @Test func folderServesItsIndex() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.folder(box.root + "/sub")
        try box.file(box.root + "/sub/index.html", "<h1>hi</h1>")
        let outcome = box.lookup().lookup(box.root + "/sub/", wantsDirectory: true)
        defer { closeIfOpened(outcome) }
        let file = try #require(opened(outcome))
        #expect(file.contentType == "text/html; charset=utf-8")
        #expect(file.size == 11)
        #expect(file.body == "<h1>hi</h1>")
    }

    @Test func rootFolderServesItsIndex() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/index.html", "home")
        let outcome = box.lookup().lookup(box.root + "/", wantsDirectory: true)
        defer { closeIfOpened(outcome) }
        #expect(opened(outcome)?.body == "home")
    }

    @Test func firstExistingIndexWins() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.folder(box.root + "/one")
        try box.file(box.root + "/one/index.html", "html")
        try box.folder(box.root + "/both")
        try box.file(box.root + "/both/index.html", "html")
        try box.file(box.root + "/both/index.htm", "htm")
        let lookup = box.lookup(index: ["index.htm", "index.html"])

        let one = lookup.lookup(box.root + "/one/", wantsDirectory: true)
        defer { closeIfOpened(one) }
        #expect(opened(one)?.body == "html")

        let both = lookup.lookup(box.root + "/both/", wantsDirectory: true)
        defer { closeIfOpened(both) }
        #expect(opened(both)?.body == "htm")
    }

    @Test func folderWithoutIndexAndAutoindexOffIsForbidden() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.folder(box.root + "/sub")
        try box.file(box.root + "/sub/a.txt", "a")
        #expect(isForbidden(box.lookup().lookup(box.root + "/sub/", wantsDirectory: true)))
        #expect(isForbidden(box.lookup(index: []).lookup(box.root + "/sub/", wantsDirectory: true)))
    }

    @Test func folderWithoutIndexAndAutoindexOnIsListed() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.folder(box.root + "/sub/inner")
        try box.file(box.root + "/sub/a.txt", "abc")
        try box.file(box.root + "/sub/.secret", "s")
        let outcome = box.lookup(autoindex: true).lookup(box.root + "/sub/", wantsDirectory: true)
        let entries = try #require(listing(outcome), "\(outcome)")
        #expect(Set(entries.map(\.name)) == ["a.txt", "inner"])
        #expect(entries.first { $0.name == "a.txt" }?.size == 3)
        #expect(entries.first { $0.name == "inner" }?.isDirectory == true)
    }

    @Test func indexWinsOverAutoindex() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.folder(box.root + "/sub")
        try box.file(box.root + "/sub/index.html", "i")
        let outcome = box.lookup(autoindex: true).lookup(box.root + "/sub/", wantsDirectory: true)
        defer { closeIfOpened(outcome) }
        #expect(opened(outcome)?.body == "i")
    }

    @Test func indexThatIsAFolderIsSkipped() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.folder(box.root + "/sub/index.html")
        let outcome = box.lookup().lookup(box.root + "/sub/", wantsDirectory: true)
        defer { closeIfOpened(outcome) }
        #expect(isForbidden(outcome))
    }

    @Test func indexLinkedOutsideIsSkipped() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.outside + "/index.html", "outside")
        try box.folder(box.root + "/sub")
        try box.link(box.root + "/sub/index.html", to: box.outside + "/index.html")
        let off = box.lookup().lookup(box.root + "/sub/", wantsDirectory: true)
        defer { closeIfOpened(off) }
        #expect(isForbidden(off))
        let on = box.lookup(autoindex: true).lookup(box.root + "/sub/", wantsDirectory: true)
        defer { closeIfOpened(on) }
        #expect(listing(on) != nil, "\(on)")
    }

    // MARK: precompressed siblings

    private func precompressedBox() throws -> Sandbox {
        let box = try Sandbox()
        try box.file(box.root + "/app.js", "0123456789", modified: 784_111_777)
        try box.file(box.root + "/app.js.br", "br!")
        try box.file(box.root + "/app.js.gz", "gzip!")
        return box
    }

    @Test func brotliSiblingPreferred() throws {
        let box = try precompressedBox()
        defer { box.remove() }
        let outcome = box.lookup(encodings: brAndGzip).lookup(box.root + "/app.js", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        let file = try #require(opened(outcome))
        #expect(file.contentEncoding == "br")
        #expect(file.size == 3)
        #expect(file.contentType == "text/javascript; charset=utf-8")  // the original's type, not .br's
        #expect(file.body == "br!")
    }

    @Test func gzipSiblingWhenOnlyGzipAccepted() throws {
        let box = try precompressedBox()
        defer { box.remove() }
        let outcome = box.lookup(encodings: [("gzip", ".gz")]).lookup(box.root + "/app.js", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        let file = try #require(opened(outcome))
        #expect(file.contentEncoding == "gzip")
        #expect(file.size == 5)
        #expect(file.contentType == "text/javascript; charset=utf-8")  // the original's type, not .gz's
        #expect(file.body == "gzip!")
    }

    @Test func originalWhenNoCodingAccepted() throws {
        let box = try precompressedBox()
        defer { box.remove() }
        let outcome = box.lookup().lookup(box.root + "/app.js", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        let file = try #require(opened(outcome))
        #expect(file.contentEncoding == nil)
        #expect(file.size == 10)
        #expect(file.modified == 784_111_777)
        #expect(file.contentType == "text/javascript; charset=utf-8")
        #expect(file.body == "0123456789")
    }

    @Test func missingSiblingFallsBack() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/a.css", "body{}")
        try box.file(box.root + "/a.css.gz", "gz")
        try box.file(box.root + "/b.css", "p{}")

        let a = box.lookup(encodings: brAndGzip).lookup(box.root + "/a.css", wantsDirectory: false)
        defer { closeIfOpened(a) }
        #expect(opened(a)?.contentEncoding == "gzip")

        let b = box.lookup(encodings: brAndGzip).lookup(box.root + "/b.css", wantsDirectory: false)
        defer { closeIfOpened(b) }
        #expect(opened(b)?.contentEncoding == nil)
        #expect(opened(b)?.size == 3)
    }

    @Test func siblingWithoutOriginalIsNotServed() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/only.js.gz", "gz")
        let outcome = box.lookup(encodings: brAndGzip).lookup(box.root + "/only.js", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        #expect(isNotFound(outcome))
    }

    @Test func siblingLinkedOutsideIsSkipped() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/a.js", "original")
        try box.file(box.outside + "/secret", "secret")
        try box.link(box.root + "/a.js.br", to: box.outside + "/secret")
        try box.file(box.root + "/a.js.gz", "gz")
        let outcome = box.lookup(encodings: brAndGzip).lookup(box.root + "/a.js", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        let file = try #require(opened(outcome))
        #expect(file.contentEncoding == "gzip")
        #expect(file.body == "gz")
    }

    @Test func siblingThatIsNotARegularFileIsSkipped() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/a.js", "original")
        try box.folder(box.root + "/a.js.br")
        try #require(mkfifo(box.root + "/a.js.gz", 0o644) == 0)
        let outcome = box.lookup(encodings: brAndGzip).lookup(box.root + "/a.js", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        let file = try #require(opened(outcome))
        #expect(file.contentEncoding == nil)
        #expect(file.body == "original")
    }

    @Test func indexFilesUseNoSibling() throws {
        // Index files are opened directly: the type is the index's own.
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/index.html", "home")
        let outcome = box.lookup(encodings: brAndGzip).lookup(box.root + "/", wantsDirectory: true)
        defer { closeIfOpened(outcome) }
        let file = try #require(opened(outcome))
        #expect(file.contentType == "text/html; charset=utf-8")
        #expect(file.contentEncoding == nil)
    }

    // MARK: small files read into memory

    @Test func smallFileIsReadWhole() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/a.txt", "hello", modified: 784_111_777)
        let outcome = box.lookup(smallFileLimit: 64 * 1024).lookup(box.root + "/a.txt", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        guard case .content(let content) = outcome else {
            Issue.record("expected content, got \(outcome)")
            return
        }
        #expect(String(buffer: content.bytes) == "hello")
        #expect(content.facts.size == 5)
        #expect(content.facts.validators == FileValidators(modified: 784_111_777, size: 5))
        #expect(content.facts.etag == content.facts.validators.etag)
        #expect(content.facts.contentType == "text/plain; charset=utf-8")
    }

    @Test func fileAtTheLimitIsReadAndAboveItIsOpened() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.root + "/four", "1234")
        try box.file(box.root + "/five", "12345")
        let lookup = box.lookup(smallFileLimit: 4)
        let four = lookup.lookup(box.root + "/four", wantsDirectory: false)
        defer { closeIfOpened(four) }
        let five = lookup.lookup(box.root + "/five", wantsDirectory: false)
        defer { closeIfOpened(five) }
        if case .content = four {} else { Issue.record("4 bytes at limit 4: \(four)") }
        if case .file = five {} else { Issue.record("5 bytes at limit 4: \(five)") }
        #expect(opened(five)?.body == "12345")
    }

    @Test func smallPrecompressedSiblingIsReadWithItsEncoding() throws {
        let box = try precompressedBox()
        defer { box.remove() }
        let outcome = box.lookup(encodings: brAndGzip, smallFileLimit: 1024).lookup(box.root + "/app.js", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        guard case .content(let content) = outcome else {
            Issue.record("expected content, got \(outcome)")
            return
        }
        #expect(String(buffer: content.bytes) == "br!")
        #expect(content.facts.contentEncoding == "br")
        #expect(content.facts.contentType == "text/javascript; charset=utf-8")
    }

    @Test func smallFileLinkedOutsideIsNotRead() throws {
        let box = try Sandbox()
        defer { box.remove() }
        try box.file(box.outside + "/secret.txt", "secret")
        try box.link(box.root + "/leak.txt", to: box.outside + "/secret.txt")
        let outcome = box.lookup(smallFileLimit: 1024).lookup(box.root + "/leak.txt", wantsDirectory: false)
        defer { closeIfOpened(outcome) }
        #expect(isNotFound(outcome))
    }

    // MARK: containment helper

    @Test func isInside() {
        #expect(FileLookup.isInside("/srv/www/a.txt", root: "/srv/www"))
        #expect(FileLookup.isInside("/srv/www/a/b/c", root: "/srv/www"))
        #expect(FileLookup.isInside("/srv/www", root: "/srv/www"))
        #expect(!FileLookup.isInside("/srv/www2/a.txt", root: "/srv/www"))
        #expect(!FileLookup.isInside("/srv/ww", root: "/srv/www"))
        #expect(!FileLookup.isInside("/etc/passwd", root: "/srv/www"))
        #expect(FileLookup.isInside("/etc/passwd", root: "/"))
    }
}
