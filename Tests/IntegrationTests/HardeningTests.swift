import Foundation
import Glibc
import Testing

/// What a hostile pass found against the real binary (issue 13): each test
/// failed before its fix. Uploads, scripts and the master have theirs in
/// UploadTests, ScriptTests and MasterTests.
@Suite struct HardeningTests {
    static let sixteenMiB = 16 << 20

    private func start(server: String = "", vhost: String = "", route: String = "",
                       files: [String: Data] = [:]) throws -> TestServer {
        let instance = try TestServer.simple(server: server, vhost: vhost, route: route, files: files)
        try instance.start()
        return instance
    }

    // MARK: connections

    @Test func aMalformedRequestPipelinedAfterALargeDownloadWaitsForIt() throws {
        let server = try start(files: ["16m.bin": Data(count: Self.sixteenMiB)])
        let connection = try server.connect()
        try connection.send("GET /16m.bin HTTP/1.1\r\nHost: localhost\r\n\r\nGARBAGE\r\n\r\n")
        let download = try connection.readResponse()
        #expect(download.status == 200)
        #expect(download.body.count == Self.sixteenMiB)
        let refusal = try connection.readResponse()
        #expect(refusal.status == 400)
        #expect(refusal.header("connection") == "close")
        #expect(connection.isClosedByServer())
        // Logged as sent: the client's own line, not an invented "GET -".
        try waitUntil("both requests are logged") { server.accessLog.contains("\"GARBAGE\" 400") }
        #expect(server.accessLog.contains("\"GET /16m.bin HTTP/1.1\" 200 16777216"))
    }

    @Test func anAbortedDownloadIsLoggedWithWhatWasSent() throws {
        let server = try start(files: ["16m.bin": Data(count: Self.sixteenMiB)])
        let connection = try server.connect()
        try connection.send("GET /16m.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        _ = try connection.readSome()
        // The client gives up a moment later, most of the file unsent.
        usleep(300_000)
        connection.resetNow()
        var line = ""
        try waitUntil("the download is logged") {
            line = server.accessLog.split(separator: "\n").first { $0.contains("/16m.bin") }.map(String.init) ?? ""
            return !line.isEmpty
        }
        let fields = line.split(separator: " ")
        let bytes = try #require(Int(fields[fields.count - 5]))
        #expect(bytes < Self.sixteenMiB, "\(line)")
        #expect(fields.last != "0.000", "\(line)")
    }

    @Test func theBodyTimeoutWaitsWhileTheServerHoldsTheBodyBack() throws {
        // The script reads its stdin only after 2.5 s: the worker pauses reading the
        // request meanwhile (backpressure), which is not the client being slow.
        let server = try start(server: "  timeouts: { body: 1s }\n  limits: { max_body_size: 16MiB }", route: """
                  - path: /cgi-bin/
                    type: script
                    interpreters: { .py: python3 }
            """, files: ["cgi-bin/late.py": Data("""
                import sys, time
                time.sleep(2.5)
                data = sys.stdin.buffer.read()
                sys.stdout.write("Content-Type: text/plain\\r\\n\\r\\n%d" % len(data))
                """.utf8)])
        let body = [UInt8](repeating: 0x61, count: 4 << 20)
        let connection = try server.connect()
        try connection.send("POST /cgi-bin/late.py HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.count)\r\n\r\n")
        try connection.send(body)
        let response = try connection.readResponse()
        #expect(response.status == 200)
        #expect(response.text == String(body.count))
    }

    // MARK: heads

    @Test func theRequestLineCountsAgainstMaxHeaderSize() throws {
        let server = try start(server: "  limits: { max_header_size: 1KiB }")
        func head(total: Int) -> String {
            // "GET /x HTTP/1.1\r\n" + "Host: localhost\r\n" + "X-Pad: …\r\n", then the blank line.
            let fixed = "GET /x HTTP/1.1\r\nHost: localhost\r\n".utf8.count + "X-Pad: \r\n".utf8.count
            return "GET /x HTTP/1.1\r\nHost: localhost\r\nX-Pad: \(String(repeating: "p", count: total - fixed))\r\n\r\n"
        }
        for (total, status) in [(1024, 404), (1025, 431)] {
            let connection = try server.connect()
            try connection.send(head(total: total))
            #expect(try connection.readResponse().status == status, "a head of \(total) bytes")
        }
    }

    @Test(arguments: ["a/b", "..", "a b", "a..b", "[::1", "host:80x", "x:123456"])
    func anInvalidHostIs400(host: String) throws {
        let server = try start()
        let connection = try server.connect()
        try connection.send("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n")
        #expect(try connection.readResponse().status == 400)
    }

    @Test func anAbsoluteFormTargetChoosesTheVhost() throws {
        let server = try TestServer(config: """
            server:
              workers: 1
            logging:
              access_log: {DIR}/access.log
              error_log: {DIR}/error.log
            vhosts:
              - names: [localhost]
                listen: ["127.0.0.1:{PORT}"]
                root: {ROOT}
              - names: [other.test]
                listen: ["127.0.0.1:{PORT}"]
                root: {ROOT}/other
            """, files: ["other/who.txt": Data("other".utf8)])
        try server.start()
        let connection = try server.connect()
        // RFC 9112 §3.2.2: the target's authority, not Host.
        try connection.send("GET http://other.test/who.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let response = try connection.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "other")
    }

    @Test func connectIsRefusedAndTheConnectionClosed() throws {
        let server = try start()
        let connection = try server.connect()
        connection.setReadTimeout(5)
        try connection.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        let response = try connection.readResponse()
        #expect(response.status == 400)
        #expect(response.header("connection") == "close")
        #expect(connection.isClosedByServer())
    }

    @Test func anUnknownTransferCodingIs501() throws {
        let server = try start()
        let connection = try server.connect()
        try connection.send("POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
        #expect(try connection.readResponse().status == 501)
    }

    // MARK: files

    @Test func swappingTheRootSymlinkIsFollowedAtOnce() throws {
        let server = try TestServer.simple()
        let releases = server.folder.appendingPathComponent("releases")
        for (release, text) in [("1", "one"), ("2", "two")] {
            try FileManager.default.createDirectory(at: releases.appendingPathComponent(release), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: releases.appendingPathComponent("\(release)/which.txt"))
        }
        try Data("new".utf8).write(to: releases.appendingPathComponent("2/only-in-2.txt"))
        let current = server.folder.appendingPathComponent("current")
        try FileManager.default.createSymbolicLink(atPath: current.path, withDestinationPath: releases.appendingPathComponent("1").path)
        try server.rewriteConfig(String(contentsOf: server.configFile, encoding: .utf8)
            .replacingOccurrences(of: "root: \(server.root.path)", with: "root: \(current.path)"))
        try server.start()
        #expect(try server.get("/which.txt").text == "one")
        // The deploy: a new link renamed over the old one, atomically.
        let next = server.folder.appendingPathComponent("current.next")
        try FileManager.default.createSymbolicLink(atPath: next.path, withDestinationPath: releases.appendingPathComponent("2").path)
        #expect(rename(next.path, current.path) == 0)
        let fresh = try server.get("/only-in-2.txt")
        #expect(fresh.status == 200)
        #expect(fresh.text == "new")
        // Cached answers last at most a second.
        try waitUntil("the old release's file is no longer served", timeout: 5) { (try? server.get("/which.txt").text) == "two" }
    }

    @Test func outOfDescriptorsGives503AndTheWorkerDoesNotSpin() throws {
        let server = try TestServer.simple(files: ["big.bin": Data(count: 100_000)])
        server.fileLimit = 48
        try server.start()
        let worker = try #require(server.workers.first)
        // Connections the worker accepts until it has no descriptor left; the rest wait.
        let first = try server.connect()
        var others: [RawConnection] = []
        for _ in 0..<60 { others.append(try server.connect()) }
        try waitUntil("accept fails for lack of descriptors") { server.errorLog.contains("accept failed") }
        // An existing file the worker cannot open: 503, not 404.
        try first.send("GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let response = try first.readResponse()
        #expect(response.status == 503)
        #expect(response.header("retry-after") == "1")
        // Paused accepts, not a busy loop: well under a core over a second.
        let before = ProcFS.cpuSeconds(of: worker)
        usleep(1_000_000)
        let used = ProcFS.cpuSeconds(of: worker) - before
        #expect(used < 0.5, "the worker used \(used) s of CPU in 1 s")
        // Logged at most once a second, not once per attempt.
        let lines = server.errorLog.split(separator: "\n").filter { $0.contains("accept failed") }.count
        #expect(lines <= 5, "\(lines) accept-failure lines")
        others.forEach { $0.closeNow() }
        first.closeNow()
        try waitUntil("the worker serves again", timeout: 10) { (try? server.get("/big.bin").status) == 200 }
    }

    // MARK: scripts and logs

    @Test func scriptBackupsAreNeverServed() throws {
        let source = Data("print('Content-Type: text/plain\\n\\nran')\n".utf8)
        var files: [String: Data] = ["cgi-bin/hi.py": source, "cgi-bin/readme.txt": Data("read me".utf8)]
        let backups = ["hi.py~", "hi.py.bak", "hi.py.orig", "hi.py.swp", "hi.py.save", "#hi.py#", "hi.py.old", "HI.PY.BAK"]
        for name in backups { files["cgi-bin/\(name)"] = source }
        let server = try start(route: """
                  - path: /cgi-bin/
                    type: script
                    interpreters: { .py: python3 }
            """, files: files)
        #expect(try server.get("/cgi-bin/hi.py").text == "ran\n")
        for name in backups {
            let path = "/cgi-bin/" + (name.addingPercentEncoding(withAllowedCharacters: CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "#"))) ?? name)
            #expect(try server.get(path).status == 404, "\(name) must not show the script's source")
        }
        #expect(try server.get("/cgi-bin/readme.txt").text == "read me")
    }

    @Test func clientAndScriptTextIsEscapedInTheErrorLog() throws {
        let server = try start(route: """
                  - path: /cgi-bin/
                    type: script
                    interpreters: { .py: python3 }
            """, files: ["cgi-bin/noisy.py": Data("""
                import sys
                sys.stderr.write("forged\\r[critical] x\\u001b[31mred\\u0000end\\n")
                sys.stderr.write("A" * 100000 + "\\n")
                print("Content-Type: text/plain\\n\\nok")
                """.utf8)])
        #expect(try server.get("/cgi-bin/noisy.py").text == "ok\n")
        try waitUntil("stderr is logged") { server.errorLog.contains("script /cgi-bin/noisy.py: forged") }
        let log = server.errorLog
        #expect(log.contains("forged\\x0D[critical] x\\x1B[31mred\\x00end"))
        #expect(!log.contains("\u{1b}") && !log.contains("\r") && !log.contains("\u{0}"))
        #expect(log.split(separator: "\n").allSatisfy { $0.utf8.count < 5000 })
    }

    @Test func oneHundredContinueIsNotSentBeforeA404ForAMissingScript() throws {
        let server = try start(route: """
                  - path: /cgi-bin/
                    type: script
                    interpreters: { .py: python3 }
            """, files: ["cgi-bin/.keep": Data()])
        let connection = try server.connect()
        try connection.send("POST /cgi-bin/missing.py HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
        #expect(try connection.readResponse().status == 404)
    }
}

extension ProcFS {
    /// User and system CPU time a process has used, in seconds.
    static func cpuSeconds(of pid: pid_t) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: state is field 3 of stat(5), utime 14 and stime 15.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
