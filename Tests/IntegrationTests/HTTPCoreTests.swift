import Foundation
import Glibc
import Testing

/// SPEC §4's HTTP core over raw sockets: keep-alive, pipelining, HTTP/1.0,
/// limits, framing conflicts, Expect, timeouts, and isolation of bad clients.
@Suite struct HTTPCoreTests {
    static let files: [String: Data] = ["a.txt": Data("alpha".utf8), "b.txt": Data("bravo".utf8)]

    private func server(_ server: String = "") throws -> TestServer {
        let instance = try TestServer.simple(server: server, files: Self.files)
        try instance.start()
        return instance
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
        let server = try server()
        let connection = try server.connect()
        for path in ["/a.txt", "/b.txt", "/a.txt"] {
            try connection.send("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let response = try connection.readResponse()
            #expect(response.status == 200)
            #expect(response.header("connection") == nil)
        }
    }

    @Test func pipelinedResponsesComeBackInOrder() throws {
        let server = try server()
        let connection = try server.connect()
        let paths = ["/a.txt", "/missing", "/b.txt", "/a.txt", "/b.txt"]
        try connection.send(paths.map { "GET \($0) HTTP/1.1\r\nHost: localhost\r\n\r\n" }.joined())
        let bodies = try paths.map { _ in try connection.readResponse() }
        #expect(bodies.map(\.status) == [200, 404, 200, 200, 200])
        #expect(bodies.filter { $0.status == 200 }.map(\.text) == ["alpha", "bravo", "alpha", "bravo"])
    }

    @Test func http10ClosesUnlessKeepAliveIsAsked() throws {
        let server = try server()
        let plain = try server.connect()
        try plain.send("GET /a.txt HTTP/1.0\r\n\r\n")
        let response = try plain.readResponse()
        #expect(response.statusLine.hasPrefix("HTTP/1.0 200"))
        #expect(response.header("connection") == "close")
        #expect(plain.isClosedByServer())

        let kept = try server.connect()
        try kept.send("GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().header("connection") == "keep-alive")
        try kept.send("GET /b.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().text == "bravo")
    }

    @Test func http11WithoutHostIs400() throws {
        let server = try server()
        let connection = try server.connect()
        try connection.send("GET /a.txt HTTP/1.1\r\n\r\n")
        #expect(try connection.readResponse().status == 400)
        #expect(connection.isClosedByServer())
    }

    @Test func oversizedHeadIs431() throws {
        let server = try server("  limits: { max_header_size: 2KiB }")
        let connection = try server.connect()
        try connection.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX-Big: \(String(repeating: "x", count: 4096))\r\n\r\n")
        #expect(try connection.readResponse().status == 431)
        let longURI = try server.connect()
        try longURI.send("GET /\(String(repeating: "y", count: 4096)) HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try longURI.readResponse().status == 431)
    }

    @Test func contentLengthWithTransferEncodingIs400AndClose() throws {
        let server = try server()
        let connection = try server.connect()
        try connection.send("POST /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        let response = try connection.readResponse()
        #expect(response.status == 400)
        #expect(connection.isClosedByServer())
    }

    @Test func declaredBodyOverTheLimitIs413BeforeReading() throws {
        let server = try server("  limits: { max_body_size: 100 }")
        let connection = try server.connect()
        // Only the head is sent: the answer must not wait for the 1 MB body.
        try connection.send("POST /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        let response = try connection.readResponse()
        #expect(response.status == 413)
        #expect(response.header("connection") == "close")
    }

    @Test func refusedHeadGetsNoContinue() throws {
        let server = try server()
        let connection = try server.connect()
        try connection.send("PUT /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
        let response = try connection.readResponse()
        #expect(response.status == 405)
        #expect(response.header("connection") == "close")
    }

    @Test func unknownExpectationIs417() throws {
        let server = try server()
        let connection = try server.connect()
        try connection.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\nExpect: teapot\r\n\r\n")
        #expect(try connection.readResponse().status == 417)
    }

    @Test func malformedRequestIs400AndDoesNotDisturbOthers() throws {
        let server = try server()
        let good = try server.connect()
        try good.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try good.readResponse().status == 200)
        for garbage in ["\u{1}\u{2}\u{3} nonsense\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET /a b c\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n"] {
            let bad = try server.connect()
            try bad.send(garbage)
            let response = try bad.readResponse()
            #expect([400, 505].contains(response.status), "\(garbage.debugDescription) → \(response.statusLine)")
        }
        // The first connection, and the worker, are still fine.
        try good.send("GET /b.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try good.readResponse().text == "bravo")
    }

    @Test func slowHeadGets408() throws {
        let server = try server("  timeouts: { header: 1s }")
        let connection = try server.connect()
        try connection.send("GET /a.txt HTTP/1.1\r\nHost: local")
        // The server must answer on its own once the header timeout passes.
        let response = try connection.readResponse()
        #expect(response.status == 408)
        #expect(connection.isClosedByServer())
    }

    @Test func slowBodyGets408() throws {
        let server = try server("  timeouts: { body: 1s }")
        let connection = try server.connect()
        try connection.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc")
        // The static answer goes out at once; the unread body then times out and closes.
        #expect(try connection.readResponse().status == 200)
        #expect(connection.isClosedByServer())
    }

    @Test func idleKeepAliveConnectionIsClosed() throws {
        let server = try server("  timeouts: { keepalive: 1s }")
        let connection = try server.connect()
        try connection.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try connection.readResponse().status == 200)
        #expect(connection.isClosedByServer())
    }

    @Test func connectionThatNeverSendsIsClosed() throws {
        let server = try server("  timeouts: { header: 1s }")
        let connection = try server.connect()
        #expect(connection.isClosedByServer())
    }

    @Test func chunkedRequestBodyIsAccepted() throws {
        let server = try server()
        let connection = try server.connect()
        try connection.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try connection.readResponse().text == "alpha")
        #expect(try connection.readResponse().text == "bravo")
    }

    @Test func maxConnectionsStopsAcceptingUntilOneCloses() throws {
        let server = try server("  max_connections: 2")
        let first = try server.connect()
        let second = try server.connect()
        try first.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try second.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try first.readResponse().status == 200)
        #expect(try second.readResponse().status == 200)
        // The third connection waits in the kernel's backlog, unanswered...
        let third = try RawConnection(port: server.port, readTimeout: 1)
        try third.send("GET /b.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(throws: TestFailure.self) { try third.readResponse() }
        // ...until a slot frees up.
        first.closeNow()
        third.setReadTimeout(5)
        #expect(try third.readResponse().text == "bravo")
    }

    @Test func accessLogRecordsCombinedLinesWithVhostAndTime() throws {
        let server = try server()
        let connection = try server.connect()
        try connection.send("GET /a.txt?q=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: probe/1.0\r\nReferer: http://x/\r\n\r\n")
        _ = try connection.readResponse()
        try waitUntil("the access log is flushed", timeout: 15) { !server.accessLog.isEmpty }
        let line = server.accessLog.split(separator: "\n").first.map(String.init) ?? ""
        let pattern = #"^127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET /a\.txt\?q=1 HTTP/1\.1" 200 5 "http://x/" "probe/1\.0" localhost \d+\.\d{3}$"#
        #expect(line.range(of: pattern, options: .regularExpression) != nil, "\(line)")
    }

    /// Reads up to `limit` bytes at most 256 KiB per 30 ms (a slow client),
    /// calling `midway` once after the first MiB; stops at EOF or after 30 s.
    private func readSlowly(_ connection: RawConnection, limit: Int, midway: () -> Void = {}) -> Int {
        var received = 0
        var calledMidway = false
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        let started = Date()
        while received < limit, Date().timeIntervalSince(started) < 30 {
            let count = chunk.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += count
            if received > 1 << 20 && !calledMidway {
                calledMidway = true
                midway()
            }
            usleep(30_000)
        }
        return received
    }

    @Test func aSlowDownloadOutlastsTheKeepAliveTimeout() throws {
        // 24 MiB read at about 8 MiB/s with a 1 s keep-alive timeout: the timer
        // must wait until the body has left the server, or the download is cut.
        let size = 24 << 20
        let server = try TestServer.simple(server: "  timeouts: { keepalive: 1s }",
                                           files: ["big.bin": Data(repeating: 0x5a, count: size)])
        try server.start()
        let connection = try server.connect()
        try connection.send("GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let started = Date()
        let received = readSlowly(connection, limit: size + 100)
        #expect(received > size, "got \(received) bytes of a \(size)-byte body")
        #expect(Date().timeIntervalSince(started) > 1.5, "the download must have outlasted the keep-alive timeout")

        // The same when the response ends before the request does (its body comes later).
        let early = try server.connect()
        try early.send("GET /big.bin HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\n")
        let midway = readSlowly(early, limit: size + 100) { try? early.send("hello") }
        #expect(midway > size, "got \(midway) bytes of a \(size)-byte body")
    }

    @Test func aGracefulStopLetsASlowDownloadFinish() throws {
        let size = 24 << 20
        let server = try TestServer.simple(files: ["big.bin": Data(repeating: 0x5a, count: size)])
        try server.start()
        let connection = try server.connect()
        try connection.send("GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        // QUIT while most of the body is still in the server: it is a request in flight (SPEC §3).
        let received = readSlowly(connection, limit: size + 100) { server.signal(SIGQUIT) }
        #expect(received > size, "got \(received) bytes of a \(size)-byte body")
        try waitUntil("swerve exits after the drain", timeout: 15) { !(server.process?.isRunning ?? false) }
    }

    @Test func aClientThatStopsReadingIsDroppedAfterTheSendTimeout() throws {
        let size = 24 << 20
        let server = try TestServer.simple(server: "  timeouts: { send: 1s }",
                                           files: ["big.bin": Data(repeating: 0x5a, count: size)])
        try server.start()
        let connection = try server.connect()
        try connection.send("GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try waitUntil("the server drops the client that reads nothing", timeout: 15) {
            server.errorLog.contains("took no data for 1s: connection closed")
        }
        // What the kernel already held arrives, then the end: never the whole body.
        let bytes = try connection.readToEnd()
        #expect(bytes.count < size)
    }
}
