import Foundation
import Testing
import SwerveWorker

/// A fresh folder under the system temporary directory, removed by `remove()`.
private struct ScratchFolder {
    let path: String  // without trailing slash

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/swerve-autoindex-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ contents: String = "", modified: Int? = nil) throws {
        let full = path + "/" + name
        try #require(FileManager.default.createFile(atPath: full, contents: Data(contents.utf8)))
        if let modified {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: Double(modified))],
                                                  ofItemAtPath: full)
        }
    }

    func folder(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + name, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct AutoindexTests {
    private func entry(_ name: String, dir: Bool = false, size: Int = 0, modified: Int = 784_111_777) -> Autoindex.Entry {
        Autoindex.Entry(name: name, isDirectory: dir, size: size, modified: modified)
    }

    /// The names in the order the listing links them.
    private func linkedNames(_ html: String) -> [String] {
        html.split(separator: "\n").compactMap { line -> String? in
            guard let start = line.range(of: "\">"), let end = line.range(of: "</a>") else { return nil }
            return String(line[start.upperBound..<end.lowerBound])
        }
    }

    // MARK: escaping

    @Test func escapesHTML() {
        #expect(Autoindex.escapeHTML("<b>&\"x'.txt") == "&lt;b&gt;&amp;&quot;x&#39;.txt")
        #expect(Autoindex.escapeHTML("plain.txt") == "plain.txt")
        #expect(Autoindex.escapeHTML("é & ü") == "é &amp; ü")
        #expect(Autoindex.escapeHTML("") == "")
    }

    @Test func percentEncodes() {
        #expect(Autoindex.percentEncode("a b.txt") == "a%20b.txt")
        #expect(Autoindex.percentEncode("café") == "caf%C3%A9")
        #expect(Autoindex.percentEncode("€") == "%E2%82%AC")
        #expect(Autoindex.percentEncode("😀") == "%F0%9F%98%80")
        #expect(Autoindex.percentEncode("<b>&\"x'.txt") == "%3Cb%3E%26%22x%27.txt")
        #expect(Autoindex.percentEncode("a/b-c_d.e~f/") == "a/b-c_d.e~f/")
        #expect(Autoindex.percentEncode("100%?#") == "100%25%3F%23")
        #expect(Autoindex.percentEncode("\u{01}\n") == "%01%0A")
        #expect(Autoindex.percentEncode("AZaz09") == "AZaz09")
    }

    @Test func hostileNameIsEscapedInHrefAndText() {
        let html = Autoindex.html(for: [entry("<b>&\"x'.txt", size: 7)], path: "/")
        #expect(html.contains("<a href=\"%3Cb%3E%26%22x%27.txt\">&lt;b&gt;&amp;&quot;x&#39;.txt</a>"))
        #expect(!html.contains("<b>&"))
        #expect(!html.contains("x'"))
    }

    @Test func spacesAndUnicodeAreEncodedInHref() {
        let html = Autoindex.html(for: [entry("my file.txt"), entry("café", dir: true)], path: "/")
        #expect(html.contains("<a href=\"my%20file.txt\">my file.txt</a>"))
        #expect(html.contains("<a href=\"caf%C3%A9/\">café/</a>"))
    }

    @Test func titleIsEscaped() {
        let html = Autoindex.html(for: [], path: "/<script>/")
        #expect(html.contains("<title>Index of /&lt;script&gt;/</title>"))
        #expect(html.contains("<h1>Index of /&lt;script&gt;/</h1>"))
        #expect(!html.contains("<script>"))
    }

    // MARK: layout

    @Test func lineFormat() {
        let html = Autoindex.html(for: [entry("a.txt", size: 1234, modified: 1_795_547_598),
                                        entry("sub", dir: true, size: 4096, modified: 784_111_777)], path: "/docs/")
        #expect(html.contains("\n<a href=\"sub/\">sub/</a> 06/Nov/1994:08:49 -\n"))
        #expect(html.contains("\n<a href=\"a.txt\">a.txt</a> 24/Nov/2026:19:13 1234\n"))
        #expect(html.hasPrefix("<!doctype html>\n"))
        #expect(html.contains("<meta charset=\"utf-8\">"))
        #expect(html.hasSuffix("</html>\n"))
    }

    @Test func parentLinkOnlyBelowRoot() {
        #expect(!Autoindex.html(for: [], path: "/").contains("href=\"../\""))
        #expect(Autoindex.html(for: [], path: "/sub/").contains("<a href=\"../\">../</a>\n"))
    }

    @Test func directoriesFirstThenSortedByName() {
        let entries = [
            entry("zeta.txt"), entry("beta", dir: true), entry("alpha.txt"),
            entry("Zulu", dir: true), entry("alpha", dir: true), entry("Bravo.txt"), entry("gamma.txt"),
        ]
        let names = linkedNames(Autoindex.html(for: entries, path: "/x/"))
        #expect(names == ["../", "Zulu/", "alpha/", "beta/", "Bravo.txt", "alpha.txt", "gamma.txt", "zeta.txt"])
    }

    @Test func orderDoesNotDependOnInputOrder() {
        let entries = [entry("b"), entry("d", dir: true), entry("a"), entry("c", dir: true)]
        let expected = ["c/", "d/", "a", "b"]
        #expect(linkedNames(Autoindex.html(for: entries, path: "/")) == expected)
        #expect(linkedNames(Autoindex.html(for: entries.reversed(), path: "/")) == expected)
    }

    // MARK: read

    @Test func readListsEntriesAndHidesDotfiles() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.file("a.txt", "abc", modified: 784_111_777)
        try scratch.file("my file.html", "<p>x</p>")
        try scratch.file(".hidden", "secret")
        try scratch.file(".htpasswd", "user:pw")
        try scratch.folder("sub")
        try scratch.folder(".git")

        let entries = try #require(Autoindex.read(scratch.path + "/", realRoot: scratch.path))
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        #expect(Set(byName.keys) == ["a.txt", "my file.html", "sub"])
        #expect(byName["a.txt"] == entry("a.txt", size: 3, modified: 784_111_777))
        #expect(byName["my file.html"]?.size == 8)
        #expect(byName["my file.html"]?.isDirectory == false)
        #expect(byName["sub"]?.isDirectory == true)
    }

    @Test func readOfEmptyFolder() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        #expect(Autoindex.read(scratch.path + "/", realRoot: scratch.path) == [])
    }

    @Test func readOfMissingFolderIsNil() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        #expect(Autoindex.read(scratch.path + "/missing/", realRoot: scratch.path) == nil)
    }

    @Test func readThenHTMLHidesDotfiles() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.file("visible.txt", "v")
        try scratch.file(".env", "SECRET=1")
        let html = Autoindex.html(for: try #require(Autoindex.read(scratch.path + "/", realRoot: scratch.path)), path: "/")
        #expect(html.contains("visible.txt"))
        #expect(!html.contains(".env"))
    }

    @Test func leftPadded() {
        #expect("5".leftPadded(to: 2) == "05")
        #expect("A5".leftPadded(to: 2) == "A5")
        #expect("".leftPadded(to: 2) == "00")
    }
}

@Suite struct AutoindexSymlinkTests {
    @Test func symlinksLeavingTheRootAreNotListed() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.file("kept.txt", "x")
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/etc", withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/alias.txt", withDestinationPath: scratch.path + "/kept.txt")
        let names = try #require(Autoindex.read(scratch.path + "/", realRoot: scratch.path)).map(\.name).sorted()
        #expect(names == ["alias.txt", "kept.txt"])
    }
}
