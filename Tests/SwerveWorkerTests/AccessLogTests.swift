import Foundation
import Glibc
import SwerveConfig
import Testing
import SwerveWorker

/// A log file path in a fresh temporary folder.
private struct LogScratch {
    let folder: String
    var path: String { folder + "/access.log" }

    init() throws {
        folder = FileManager.default.temporaryDirectory.path + "/swerve-accesslog-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    func read(_ path: String? = nil) -> String {
        guard let data = FileManager.default.contents(atPath: path ?? self.path) else { return "<missing>" }
        return String(decoding: data, as: UTF8.self)
    }

    func size() -> Int { read().utf8.count }

    func remove() { try? FileManager.default.removeItem(atPath: folder) }
}

private let combinedTime = "24/Nov/2026:19:13:18 +0000"
private let isoTime = "2026-11-24T19:13:18Z"

private func entry(remote: String = "127.0.0.1", method: String = "GET", uri: String = "/",
                   version: String = "HTTP/1.1", status: Int = 200, bytes: Int = 1024,
                   referer: String? = nil, userAgent: String? = "curl/8.0", vhost: String = "localhost",
                   milliseconds: Int = 3) -> AccessLogEntry {
    AccessLogEntry(remoteAddress: remote, method: method, uri: uri, version: version, status: status,
                   bodyBytes: bytes, referer: referer, userAgent: userAgent, vhost: vhost,
                   milliseconds: milliseconds)
}

/// Writes entries through a LogFile on a temporary file and returns what landed there.
private func logged(_ entries: [AccessLogEntry], format: LoggingSettings.Format) throws -> String {
    let scratch = try LogScratch()
    defer { scratch.remove() }
    let file = try LogFile(path: scratch.path, descriptor: -1)
    let log = AccessLog(file: file, format: format)
    for entry in entries { log.append(entry, combinedTime: combinedTime, isoTime: isoTime) }
    log.flush()
    return scratch.read()
}

private func json(_ line: Substring) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
    return try #require(object as? [String: Any])
}

@Suite struct AccessLogTests {
    // MARK: combined

    @Test func combinedLineMatchesSpecExample() throws {
        let text = try logged([entry()], format: .combined)
        #expect(text == "127.0.0.1 - - [24/Nov/2026:19:13:18 +0000] \"GET / HTTP/1.1\" 200 1024 \"-\" \"curl/8.0\" localhost 0.003\n")
    }

    @Test func combinedLineWithRefererAndNoUserAgent() throws {
        let text = try logged([entry(remote: "::1", method: "HEAD", uri: "/a/b?x=1", version: "HTTP/1.0",
                                     status: 304, bytes: 0, referer: "http://example.com/", userAgent: nil,
                                     vhost: "example.com", milliseconds: 1234)], format: .combined)
        #expect(text == "::1 - - [24/Nov/2026:19:13:18 +0000] \"HEAD /a/b?x=1 HTTP/1.0\" 304 0 \"http://example.com/\" \"-\" example.com 1.234\n")
    }

    @Test func combinedEscapesQuotesBackslashesControlsAndNonASCII() throws {
        let text = try logged([entry(uri: "/a\"b\\c\nd\te\u{7F}", userAgent: "Mozilla \"evil\"\r\n1.2.3.4 - - [x]",
                                     vhost: "café")], format: .combined)
        #expect(text == "127.0.0.1 - - [24/Nov/2026:19:13:18 +0000] \"GET /a\\x22b\\x5Cc\\x0Ad\\x09e\\x7F HTTP/1.1\" 200 1024 \"-\" \"Mozilla \\x22evil\\x22\\x0D\\x0A1.2.3.4 - - [x]\" caf\\xC3\\xA9 0.003\n")
        #expect(text.split(separator: "\n").count == 1)
    }

    @Test func combinedEscapesRefererAndMethod() throws {
        let text = try logged([entry(method: "G\"T", referer: "ü\u{01}")], format: .combined)
        #expect(text.contains("\"G\\x22T / HTTP/1.1\""))
        #expect(text.contains("\"\\xC3\\xBC\\x01\""))
    }

    @Test func combinedLinesAreOnePerEntry() throws {
        let text = try logged([entry(uri: "/1"), entry(uri: "/2"), entry(uri: "/3")], format: .combined)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 4)
        #expect(lines.last == "")
        #expect(lines[0].contains("\"GET /1 HTTP/1.1\""))
        #expect(lines[1].contains("\"GET /2 HTTP/1.1\""))
        #expect(lines[2].contains("\"GET /3 HTTP/1.1\""))
    }

    @Test(arguments: [(0, "0.000"), (3, "0.003"), (45, "0.045"), (999, "0.999"), (1000, "1.000"),
                      (1234, "1.234"), (61_005, "61.005")] as [(Int, String)])
    func requestTimeInSeconds(milliseconds: Int, expected: String) {
        #expect(AccessLog.seconds(milliseconds) == expected)
    }

    // MARK: json

    @Test func jsonLineHasTheSameFacts() throws {
        let text = try logged([entry(referer: "http://ref/")], format: .json)
        #expect(text.hasSuffix("}\n"))
        #expect(text.filter { $0 == "\n" }.count == 1)
        let object = try json(text.dropLast())
        #expect(object["time"] as? String == isoTime)
        #expect(object["remote_addr"] as? String == "127.0.0.1")
        #expect(object["method"] as? String == "GET")
        #expect(object["uri"] as? String == "/")
        #expect(object["protocol"] as? String == "HTTP/1.1")
        #expect((object["status"] as? NSNumber)?.intValue == 200)
        #expect((object["bytes"] as? NSNumber)?.intValue == 1024)
        #expect(object["referer"] as? String == "http://ref/")
        #expect(object["user_agent"] as? String == "curl/8.0")
        #expect(object["vhost"] as? String == "localhost")
        #expect((object["request_time"] as? NSNumber)?.doubleValue == 0.003)
        #expect(object["tls_version"] as? String == "")
        #expect(object["sni"] as? String == "")
        #expect(Set(object.keys) == ["time", "remote_addr", "method", "uri", "protocol", "status", "bytes",
                                     "referer", "user_agent", "vhost", "tls_version", "sni", "request_time"])
    }

    @Test func jsonEscapesHostileStrings() throws {
        let uri = "/a\"b\\c\nd\re\tf\u{01}g\u{1F}h\u{7F}i/é/😀"
        let agent = "UA \"quoted\" \\ back\u{0}slash\u{2028}"
        let text = try logged([entry(uri: uri, userAgent: agent, vhost: "*.example.com")], format: .json)
        #expect(text.filter { $0 == "\n" }.count == 1)
        let object = try json(text.dropLast())
        #expect(object["uri"] as? String == uri)
        #expect(object["user_agent"] as? String == agent)
        #expect(object["vhost"] as? String == "*.example.com")
    }

    @Test func jsonMissingRefererAndAgentAreEmpty() throws {
        let text = try logged([entry(referer: nil, userAgent: nil, milliseconds: 1500)], format: .json)
        let object = try json(text.dropLast())
        #expect(object["referer"] as? String == "")
        #expect(object["user_agent"] as? String == "")
        #expect((object["request_time"] as? NSNumber)?.doubleValue == 1.5)
    }

    @Test func jsonLinesEachParse() throws {
        let text = try logged((0..<50).map { entry(uri: "/\($0)\"", status: 200 + $0) }, format: .json)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 50)
        for (number, line) in lines.enumerated() {
            let object = try json(line)
            #expect(object["uri"] as? String == "/\(number)\"")
            #expect((object["status"] as? NSNumber)?.intValue == 200 + number)
        }
    }

    // MARK: buffering and flushing

    @Test func nothingIsWrittenBeforeFlush() throws {
        let scratch = try LogScratch()
        defer { scratch.remove() }
        let log = AccessLog(file: try LogFile(path: scratch.path, descriptor: -1), format: .combined)
        log.append(entry(), combinedTime: combinedTime, isoTime: isoTime)
        #expect(scratch.size() == 0)
        log.flush()
        #expect(scratch.read().hasSuffix("localhost 0.003\n"))
        log.flush()  // an empty flush writes nothing more
        #expect(scratch.read().split(separator: "\n").count == 1)
    }

    @Test func bufferFlushesItselfWhenFull() throws {
        let scratch = try LogScratch()
        defer { scratch.remove() }
        let log = AccessLog(file: try LogFile(path: scratch.path, descriptor: -1), format: .combined)
        let line = entry(uri: "/" + String(repeating: "x", count: 900))
        var appended = 0
        var written = 0
        // Append until the buffer passes its threshold and writes on its own.
        while written == 0 && appended < 1000 {
            log.append(line, combinedTime: combinedTime, isoTime: isoTime)
            appended += 1
            written = scratch.size()
        }
        #expect(written > 0, "never flushed on its own")
        #expect(appended > 1, "flushed a single small line at once")
        let text = scratch.read()
        #expect(text.hasSuffix("\n"))
        #expect(text.split(separator: "\n").count == appended)
        #expect(written >= 32 * 1024)
    }

    @Test func flushOnRegularFileWritesWholeLines() throws {
        let scratch = try LogScratch()
        defer { scratch.remove() }
        let file = try LogFile(path: scratch.path, descriptor: -1)
        #expect(file.atomicWriteLimit == 64 * 1024)
        let log = AccessLog(file: file, format: .combined)
        var expected = ""
        for number in 0..<30 {
            let item = entry(uri: "/\(number)/" + String(repeating: "y", count: number * 37))
            log.append(item, combinedTime: combinedTime, isoTime: isoTime)
            expected += "127.0.0.1 - - [\(combinedTime)] \"GET \(item.uri) HTTP/1.1\" 200 1024 \"-\" \"curl/8.0\" localhost 0.003\n"
        }
        log.flush()
        #expect(scratch.read() == expected)
    }

    /// On a pipe (or socket) writes are cut at line ends and kept within
    /// PIPE_BUF so that several workers' lines never interleave. A
    /// SOCK_SEQPACKET pair keeps every write(2) as one message to check that.
    @Test func flushRespectsThePipeAtomicLimit() throws {
        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &pair) == 0)
        defer { close(pair[0]); close(pair[1]) }

        let file = try LogFile(path: nil, descriptor: pair[1])
        #expect(file.atomicWriteLimit == Int(PIPE_BUF))
        let limit = file.atomicWriteLimit
        let log = AccessLog(file: file, format: .combined)

        var expected = ""
        func add(_ item: AccessLogEntry) {
            log.append(item, combinedTime: combinedTime, isoTime: isoTime)
            expected += "127.0.0.1 - - [\(combinedTime)] \"GET \(item.uri) HTTP/1.1\" 200 1024 \"-\" \"curl/8.0\" localhost 0.003\n"
        }
        for number in 0..<40 { add(entry(uri: "/short/\(number)/" + String(repeating: "s", count: number * 3))) }
        let long = "/long/" + String(repeating: "L", count: limit + 500)  // one line longer than the limit
        add(entry(uri: long))
        for number in 0..<40 { add(entry(uri: "/after/\(number)")) }
        #expect(expected.utf8.count < 32 * 1024)  // below the threshold: only the explicit flush writes
        log.flush()

        var messages: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = recv(pair[0], &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count <= 0 { break }
            messages.append(Array(buffer[0..<count]))
        }
        #expect(messages.count >= 3)
        let joined = messages.reduce(into: [UInt8]()) { $0 += $1 }
        #expect(String(decoding: joined, as: UTF8.self) == expected)
        for message in messages {
            #expect(message.last == UInt8(ascii: "\n"), "a write ended mid-line")
            let lines = message.split(separator: UInt8(ascii: "\n")).count
            if message.count > limit {
                #expect(lines == 1, "a write over PIPE_BUF carried \(lines) lines")
            }
        }
        // The long line went alone, in one write.
        #expect(messages.contains { String(decoding: $0, as: UTF8.self).contains(long) && $0.count > limit })
    }

    @Test func pipeHasPipeBufLimit() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(try LogFile(path: nil, descriptor: fds[1]).atomicWriteLimit == Int(PIPE_BUF))
    }

    // MARK: LogFile

    @Test func logFileAppendsToExistingContent() throws {
        let scratch = try LogScratch()
        defer { scratch.remove() }
        try #require(FileManager.default.createFile(atPath: scratch.path, contents: Data("old\n".utf8)))
        let file = try LogFile(path: scratch.path, descriptor: -1)
        file.write("new\n")
        #expect(scratch.read() == "old\nnew\n")
    }

    @Test func logFileCreatesWithMode0640() throws {
        let scratch = try LogScratch()
        defer { scratch.remove() }
        _ = try LogFile(path: scratch.path, descriptor: -1)
        var info = stat()
        try #require(stat(scratch.path, &info) == 0)
        // 0640 less the umask (which only removes bits): never group-writable or world-readable.
        #expect(info.st_mode & 0o777 & ~0o640 == 0)
        #expect(info.st_mode & 0o600 == 0o600)
    }

    @Test func logFileOpenFailureThrows() throws {
        let scratch = try LogScratch()
        defer { scratch.remove() }
        #expect(throws: LogFileError.self) {
            _ = try LogFile(path: scratch.folder + "/missing/dir/access.log", descriptor: -1)
        }
    }

    @Test func reopenFlushesToTheOldFileThenWritesTheNewOne() throws {
        let scratch = try LogScratch()
        defer { scratch.remove() }
        let log = AccessLog(file: try LogFile(path: scratch.path, descriptor: -1), format: .combined)
        log.append(entry(uri: "/before"), combinedTime: combinedTime, isoTime: isoTime)
        let rotated = scratch.folder + "/access.log.1"
        try #require(rename(scratch.path, rotated) == 0)  // logrotate moves the file away
        try log.reopen()
        log.append(entry(uri: "/after"), combinedTime: combinedTime, isoTime: isoTime)
        log.flush()
        let old = scratch.read(rotated)
        let new = scratch.read()
        #expect(old.contains("/before") && !old.contains("/after"))
        #expect(new.contains("/after") && !new.contains("/before"))
        #expect(old.split(separator: "\n").count == 1)
        #expect(new.split(separator: "\n").count == 1)
    }
}

/// A reopen (USR1, after logrotate moved the file) keeps the descriptor
/// number: a thread writing during the swap writes to the old file or the
/// new one, never to a closed descriptor or a file opened meanwhile.
@Suite struct LogFileReopenTests {
    @Test func reopenKeepsTheDescriptorAndSwitchesFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-logfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("error.log").path
        let file = try LogFile(path: path, descriptor: -1)
        let number = file.descriptor
        file.write("before\n")
        #expect(rename(path, path + ".1") == 0)
        try file.reopen()
        #expect(file.descriptor == number)
        #expect(fcntl(number, F_GETFD) & FD_CLOEXEC != 0)
        file.write("after\n")
        #expect(try String(contentsOfFile: path + ".1", encoding: .utf8) == "before\n")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "after\n")
    }

    @Test func aFailedReopenKeepsWritingToTheOldFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-logfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("sub/error.log").path
        try FileManager.default.createDirectory(atPath: folder.appendingPathComponent("sub").path, withIntermediateDirectories: true)
        let file = try LogFile(path: path, descriptor: -1)
        #expect(rename(folder.appendingPathComponent("sub").path, folder.appendingPathComponent("moved").path) == 0)
        #expect(throws: LogFileError.self) { try file.reopen() }
        file.write("still here\n")
        #expect(try String(contentsOfFile: folder.appendingPathComponent("moved/error.log").path, encoding: .utf8) == "still here\n")
    }
}
