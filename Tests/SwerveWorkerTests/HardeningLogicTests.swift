import Foundation
import NIOCore
import SwerveConfig
import Testing
import SwerveWorker

/// Pure pieces of the hostile-pass fixes (issue 13): log escaping, the raw
/// request line of a refused request, quotes under combining marks, error
/// pages that lead out of the root.
@Suite struct HardeningLogicTests {
    @Test func errorLogMessagesAreEscapedAndCapped() {
        #expect(ErrorLogHandler.sanitised("a\nb\u{1b}[31m\\c\u{0}d\r\u{85}") == "a\\x0Ab\\x1B[31m\\x5Cc\\x00d\\x0D\\x85")
        #expect(ErrorLogHandler.sanitised("naïve ✓") == "naïve ✓")
        let long = ErrorLogHandler.sanitised(String(repeating: "x", count: 200_000))
        #expect(long.utf8.count < ErrorLogHandler.maxMessageBytes + 64)
        #expect(long.hasSuffix("(cut at \(ErrorLogHandler.maxMessageBytes) bytes)"))
    }

    @Test func theRawRequestLineIsTheLastHeadInTheRead() {
        func line(_ text: String) -> String? { RawRequestLine.extract(from: ByteBuffer(string: text)) }
        #expect(line("GARBAGE\r\n\r\n") == "GARBAGE")
        #expect(line("GET / HTTP/1.1\r\nBad Header\r\n\r\n") == "GET / HTTP/1.1")
        #expect(line("GET /16m.bin HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\n") == "GARBAGE")
        #expect(line("\u{16}\u{3}\u{1}\u{0}") == "\u{16}\u{3}\u{1}\u{0}")
        #expect(line("\r\n\r\n") == nil)
        #expect(RawRequestLine.extract(from: nil) == nil)
        #expect(line(String(repeating: "a", count: 5000))?.utf8.count == RawRequestLine.maxLength)
    }

    @Test func aQuoteUnderACombiningMarkIsStillAQuote() throws {
        // `"` + U+0307 is one Character: split by characters, the name kept its quotes.
        let disposition = try #require(PartDisposition(header: "form-data; name=\"f\"; filename=\"\u{307}.dotmark\""))
        #expect(disposition.filename == "\u{307}.dotmark")
        #expect(disposition.name == "f")
        #expect(SafeFileName.make(from: disposition.filename) == "dotmark")
    }

    @Test func anErrorPageLeadingOutOfTheRootIsNotLoaded() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-errpages-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("errors"), withIntermediateDirectories: true)
        try Data("secret".utf8).write(to: folder.appendingPathComponent("secret.txt"))
        let root = folder.appendingPathComponent("errors").path
        try Data("ours".utf8).write(to: folder.appendingPathComponent("errors/500.html"))
        try FileManager.default.createSymbolicLink(atPath: root + "/404.html", withDestinationPath: folder.appendingPathComponent("secret.txt").path)
        var vhost = VirtualHost()
        vhost.root = root
        vhost.errorPages = [404: "/404.html", 500: "/500.html"]
        let pages = ErrorPages(vhost: vhost, mimeTypes: MIMETypes())
        #expect(String(buffer: pages.page(for: .notFound).body).contains("404 Not Found"))
        #expect(String(buffer: pages.page(for: .internalServerError).body) == "ours")
    }
}
