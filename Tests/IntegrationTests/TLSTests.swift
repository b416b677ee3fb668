import Foundation
import Testing

/// HTTPS (SPEC §2.1): certificates by SNI, checks, redirects and HSTS,
/// what is not TLS on a TLS port, handshakes that fail or stall, session
/// resumption across workers, and rotation by reload. Certificates are made
/// at test time; the clients are curl and openssl s_client.
@Suite(.serialized) struct TLSTests {
    static let threeSites = """
        server: { workers: 2, timeouts: { header: 2s } }
        logging: { access_log: "{DIR}/access.log", error_log: "{DIR}/error.log", format: json }
        vhosts:
          - names: [a.test]
            listen: ["127.0.0.1:{PORT} tls"]
            root: {ROOT}/a
            tls: { certificate: "{DIR}/tls/a.pem", key: "{DIR}/tls/a.key", hsts: "max-age=600" }
          - names: [b.test]
            default: true
            listen: ["127.0.0.1:{PORT} tls"]
            root: {ROOT}/b
            tls: { certificate: "{DIR}/tls/b.pem", key: "{DIR}/tls/b.key" }
          - names: ["*.c.test"]
            listen: ["127.0.0.1:{PORT} tls"]
            root: {ROOT}/c
            tls: { certificate: "{DIR}/tls/c.pem", key: "{DIR}/tls/c.key" }
        """

    static func sites() -> [String: Data] {
        ["a/index.html": Data("site a".utf8), "b/index.html": Data("site b".utf8), "c/index.html": Data("site c".utf8)]
    }

    /// A server with `config`, after making the certificates its vhosts name.
    static func start(_ config: String, files: [String: Data] = sites(),
                      issue: (TestCertificates) throws -> Void) throws -> (TestServer, TestCertificates) {
        let server = try TestServer(config: config, files: files)
        let certificates = try TestCertificates(in: server.folder)
        try issue(certificates)
        try server.start()
        return (server, certificates)
    }

    static func issueThree(_ certificates: TestCertificates) throws {
        try certificates.issue("a", names: ["a.test"])
        try certificates.issue("b", names: ["b.test"], rsa: true)
        try certificates.issue("c", names: ["*.c.test"])
    }

    @Test func sniChoosesEachVhostsCertificateOnOnePort() throws {
        let (server, certificates) = try Self.start(Self.threeSites, issue: Self.issueThree)
        defer { server.stop() }
        for (name, body) in [("a.test", "site a"), ("b.test", "site b"), ("x.c.test", "site c")] {
            let result = try TLSClient.get(name, port: server.port, ca: certificates.caFile)
            #expect(result.status == 0, "\(name): \(result.stderr)")
            #expect(result.stdout == body + "\n200")
        }
        // An unknown name and no name at all get the default vhost's certificate.
        let unknown = try TLSClient.handshake(port: server.port, serverName: "other.test", ca: certificates.caFile)
        #expect(unknown.contains("CN = b.test"), "\(unknown)")
        let none = try TLSClient.handshake(port: server.port, serverName: nil, ca: certificates.caFile)
        #expect(none.contains("CN = b.test"), "\(none)")
        #expect(none.contains("TLSv1.3"))
        // Policy: TLS 1.2 and 1.3 only.
        let old = try TLSClient.handshake(port: server.port, serverName: "a.test", ca: certificates.caFile, arguments: ["-tls1_1"])
        #expect(!old.contains("Cipher is ECDHE"), "\(old)")
        let tls12 = try TLSClient.handshake(port: server.port, serverName: "a.test", ca: certificates.caFile, arguments: ["-tls1_2"])
        #expect(tls12.contains("Cipher is ECDHE-ECDSA-AES") || tls12.contains("Cipher is ECDHE-ECDSA-CHACHA20"), "\(tls12)")
        // The json access log names the protocol and the server name.
        try waitUntil("access log lines") { server.accessLog.contains("\"sni\":\"x.c.test\"") }
        #expect(server.accessLog.contains("\"tls_version\":\"TLSv1.3\",\"sni\":\"a.test\""))
    }

    @Test func hstsOnTLSAndRedirectFromPlain() throws {
        let config = """
            server: { workers: 1 }
            logging: { access_log: off, error_log: "{DIR}/error.log" }
            vhosts:
              - names: [a.test]
                listen: ["127.0.0.1:{PORT} tls", "127.0.0.1:{PLAIN}"]
                root: {ROOT}/a
                tls: { certificate: "{DIR}/tls/a.pem", key: "{DIR}/tls/a.key", redirect_http: true, hsts: "max-age=600; includeSubDomains" }
              - names: [b.test]
                listen: ["127.0.0.1:{PLAIN}"]
                root: {ROOT}/b
            """
        let plain = try TestServer.freePortForTests()
        let (server, certificates) = try Self.start(config.replacingOccurrences(of: "{PLAIN}", with: String(plain))) {
            try $0.issue("a", names: ["a.test"])
        }
        defer { server.stop() }
        let secure = try TLSClient.get("a.test", port: server.port, ca: certificates.caFile, extra: ["-D", "-", "--http1.1"])
        #expect(secure.stdout.contains("Strict-Transport-Security: max-age=600; includeSubDomains\r\n"), "\(secure.stdout)")
        let redirect = try RawConnection(port: plain)
        try redirect.send("GET /photos/x.jpg?size=2&y=%20 HTTP/1.1\r\nHost: A.test:\(plain)\r\n\r\n")
        let answer = try redirect.readResponse()
        #expect(answer.status == 308)
        #expect(answer.header("location") == "https://a.test:\(server.port)/photos/x.jpg?size=2&y=%20")
        #expect(answer.header("strict-transport-security") == nil)
        // A vhost without redirect_http on the same plain port is served as before.
        let other = try RawConnection(port: plain)
        try other.send("GET / HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n")
        #expect(try other.readResponse().text == "site b")
    }

    @Test func plainHTTPAndGarbageOnATLSPort() throws {
        let (server, certificates) = try Self.start(Self.threeSites, issue: Self.issueThree)
        defer { server.stop() }
        let plain = try server.connect()
        try plain.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        let answer = try plain.readResponse()
        #expect(answer.status == 400)
        #expect(answer.header("connection") == "close")
        plain.setReadTimeout(5)
        #expect(plain.isClosedByServer())
        let garbage = try server.connect()
        try garbage.send(String(repeating: "\u{1}\u{2}\u{3}", count: 50))
        garbage.setReadTimeout(5)
        #expect(garbage.isClosedByServer())
        try waitUntil("both logged") {
            server.errorLog.contains("plain HTTP request from 127.0.0.1:") && server.errorLog.contains("bytes that are not TLS")
        }
        #expect(!server.errorLog.contains("[error]"))
        #expect(try TLSClient.get("a.test", port: server.port, ca: certificates.caFile).stdout == "site a\n200")
    }

    @Test func stalledAndTruncatedHandshakesAreBoundedAndLoggedOnce() throws {
        let (server, certificates) = try Self.start(Self.threeSites, issue: Self.issueThree)
        defer { server.stop() }
        // The first bytes of a ClientHello record, then nothing: closed after timeouts.header (2 s).
        let stalled = try server.connect()
        try stalled.send([22, 3, 1, 0, 200, 1, 0])
        let started = Date()
        stalled.setReadTimeout(8)
        #expect(stalled.isClosedByServer())
        #expect(Date().timeIntervalSince(started) >= 1.5)
        // A truncated handshake: the client leaves halfway.
        let truncated = try server.connect()
        try truncated.send([22, 3, 1, 0, 200, 1])
        truncated.closeNow()
        // A ClientHello that BoringSSL refuses (a record too short to be one).
        let broken = try server.connect()
        try broken.send([22, 3, 1, 0, 5, 1, 0, 0, 1, 0])
        broken.setReadTimeout(5)
        #expect(broken.isClosedByServer())
        try waitUntil("three handshakes logged") {
            server.errorLog.components(separatedBy: "TLS handshake with 127.0.0.1:").count - 1 >= 3
        }
        #expect(!server.errorLog.contains("[error]"))
        #expect(server.errorLog.components(separatedBy: "TLS handshake").count - 1 == 3, "\(server.errorLog)")
        #expect(try TLSClient.get("b.test", port: server.port, ca: certificates.caFile).stdout == "site b\n200")
    }

    @Test func sessionsResumeAtAnotherWorkerUntilAReload() throws {
        let config = Self.threeSites.replacingOccurrences(of: "workers: 2", with: "workers: 1")
        let (server, certificates) = try Self.start(config, issue: Self.issueThree)
        defer { server.stop() }
        let session = server.folder.appendingPathComponent("session.pem").path
        for flag in ["-tls1_2", "-tls1_3"] {
            let first = try TLSClient.handshake(port: server.port, serverName: "a.test", ca: certificates.caFile,
                                                arguments: [flag], sessionOut: session)
            #expect(first.contains("New, TLSv1."), "\(first)")
            // The worker that issued the ticket is killed; its replacement opens it.
            let before = server.workers
            try #require(before.count == 1)
            kill(before[0], SIGKILL)
            try waitUntil("a new worker") { server.workers.count == 1 && server.workers != before }
            try waitUntil("it serves") { (try? TLSClient.get("a.test", port: server.port, ca: certificates.caFile).stdout) == "site a\n200" }
            let resumed = try TLSClient.handshake(port: server.port, serverName: "a.test", ca: certificates.caFile,
                                                  arguments: [flag], sessionIn: session)
            #expect(resumed.contains("Reused, TLSv1."), "\(flag): \(resumed)")
        }
        // A reload makes a new ticket key: old tickets mean a full handshake.
        let reload = try SwerveBinary.run(["signal", "reload", "-c", server.configFile.path, "--pid", String(server.pid)])
        #expect(reload.status == 0, "\(reload.stderr)")
        let after = try TLSClient.handshake(port: server.port, serverName: "a.test", ca: certificates.caFile,
                                            arguments: ["-tls1_3"], sessionIn: session)
        #expect(after.contains("New, TLSv1.3"), "\(after)")
    }

    @Test func certificatesRotateByReloadWithoutAFailedRequest() throws {
        let (server, certificates) = try Self.start(Self.threeSites, issue: Self.issueThree)
        defer { server.stop() }
        let failures = Counter(), successes = Counter()
        let stop = Counter()
        let firstFailure = Atomic("")
        let (port, ca) = (server.port, certificates.caFile)
        let loop = Thread {
            while stop.value == 0 {
                let result = try? TLSClient.get("a.test", port: port, ca: ca)
                if result?.stdout == "site a\n200" {
                    successes.add()
                } else {
                    failures.add()
                    if firstFailure.value.isEmpty { firstFailure.set("status \(result?.status ?? -1): [\(result?.stdout ?? "")] [\(result?.stderr ?? "no result")]") }
                }
            }
        }
        loop.start()
        defer { stop.add() }
        var serials: [String] = []
        for round in 1...3 {
            try certificates.issue("a", names: ["a.test"])
            let serial = try certificates.serial("a")
            let reload = try SwerveBinary.run(["signal", "reload", "-c", server.configFile.path, "--pid", String(server.pid)])
            #expect(reload.status == 0, "round \(round): \(reload.stderr)")
            let shown = try TLSClient.handshake(port: server.port, serverName: "a.test", ca: certificates.caFile)
            let hex = serial.replacingOccurrences(of: "serial=", with: "")
            serials.append(hex)
            let served = try SwerveBinary.runProgram("/bin/sh", ["-c",
                "echo | openssl s_client -connect 127.0.0.1:\(server.port) -servername a.test 2>/dev/null | openssl x509 -noout -serial"]).stdout
            #expect(served.contains(hex), "round \(round): served \(served), expected \(hex); \(shown.prefix(200))")
        }
        try waitUntil("requests during the rotations") { successes.value >= 10 }
        stop.add()
        try waitUntil("the loop ends", timeout: 15) { loop.isFinished }
        #expect(failures.value == 0, "first failure: \(firstFailure.value)")
        #expect(Set(serials).count == 3)

        // An expired certificate on disk at reload: refused, the old one keeps serving.
        let current = serials.last!
        try certificates.issue("a", names: ["a.test"], days: -1)
        let refused = try SwerveBinary.run(["signal", "reload", "-c", server.configFile.path, "--pid", String(server.pid)])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("expired on"), "\(refused.stderr)")
        let still = try SwerveBinary.runProgram("/bin/sh", ["-c",
            "echo | openssl s_client -connect 127.0.0.1:\(server.port) -servername a.test 2>/dev/null | openssl x509 -noout -serial"]).stdout
        #expect(still.contains(current))
    }

    @Test func checkReadsAndJudgesCertificates() throws {
        let server = try TestServer(config: Self.threeSites, files: Self.sites())
        let certificates = try TestCertificates(in: server.folder)
        try Self.issueThree(certificates)
        func check() throws -> SwerveBinary.Result { try SwerveBinary.run(["check", "-c", server.configFile.path]) }
        #expect(try check().status == 0)
        // b's key with a's certificate: an error at a's `key`, line 7.
        try FileManager.default.removeItem(atPath: certificates.path("a.key"))
        try FileManager.default.copyItem(atPath: certificates.path("b.key"), toPath: certificates.path("a.key"))
        var result = try check()
        #expect(result.status == 1)
        #expect(result.stderr.contains("config.yaml:7:"), "\(result.stderr)")
        #expect(result.stderr.contains("does not match certificate"), "\(result.stderr)")
        // Expired: an error; expiring within 14 days, or not covering the names: warnings.
        try certificates.issue("a", names: ["a.test"], days: -1)
        result = try check()
        #expect(result.status == 1)
        #expect(result.stderr.contains("expired on"), "\(result.stderr)")
        try certificates.issue("a", names: ["a.test"], days: 5)
        try certificates.issue("b", names: ["not-b.test"])
        result = try check()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: certificate '\(certificates.path("a.pem"))' expires on"), "\(result.stderr)")
        #expect(result.stderr.contains("does not cover the name 'b.test'"), "\(result.stderr)")
        // A missing file names its place.
        try FileManager.default.removeItem(atPath: certificates.path("c.key"))
        result = try check()
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot read key"), "\(result.stderr)")
    }

    /// TLS ends in two steps (close_notify each way). The server's side of a
    /// closed connection must end at once, not sit in CLOSE-WAIT for NIOSSL's
    /// shutdown timeout (2 s): after `Connection: close` once the client
    /// answers close_notify, and on a keep-alive connection the client leaves
    /// with a bare FIN. Python's ssl module plays the client.
    @Test func closesPromptlyOnceTheClientEnds() throws {
        let (server, certificates) = try Self.start(Self.threeSites, issue: Self.issueThree)
        defer { server.stop() }
        let script = #"""
            import socket, ssl, sys, time
            port, ca = int(sys.argv[1]), sys.argv[2]
            context = ssl.create_default_context(cafile=ca)
            def connect():
                raw = socket.create_connection(("127.0.0.1", port), timeout=5)
                return context.wrap_socket(raw, server_hostname="a.test")
            def ends_within(sock, seconds):  # the server's FIN (or a reset) before the deadline
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    try:
                        if socket.socket.recv(sock, 4096) == b"": return True
                    except ConnectionResetError: return True
                    except socket.timeout: return False
                return False
            def answer(tls):
                data = b""
                while b"site a" not in data:
                    chunk = tls.recv(4096)
                    if not chunk: break
                    data += chunk
                return data.split(b"\r\n")[0].decode()
            tls = connect()
            tls.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            status = answer(tls)
            while tls.recv(4096): pass          # to the server's close_notify
            plain = tls.unwrap()                # ours, back
            print(status, "close", ends_within(plain, 1.0))
            tls = connect()
            tls.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            status = answer(tls)
            tls.shutdown(socket.SHUT_WR)        # TCP FIN, no close_notify
            print(status, "fin", ends_within(tls, 1.0))
            """#
        let result = try SwerveBinary.runProgram("/usr/bin/python3", ["-c", script, String(server.port), certificates.caFile])
        #expect(result.stdout == "HTTP/1.1 200 OK close True\nHTTP/1.1 200 OK fin True\n", "\(result)")
        #expect(!server.errorLog.contains("[error]"))
    }

    @Test func scriptsSeeHTTPS() throws {
        let config = """
            server: { workers: 1 }
            logging: { access_log: off, error_log: "{DIR}/error.log" }
            vhosts:
              - names: [a.test]
                listen: ["127.0.0.1:{PORT} tls"]
                root: {ROOT}/a
                tls: { certificate: "{DIR}/tls/a.pem", key: "{DIR}/tls/a.key" }
                routes:
                  - { path: /cgi-bin/, type: script, interpreters: { .sh: /bin/sh } }
                  - { path: /, type: static }
            """
        var files = Self.sites()
        files["a/cgi-bin/env.sh"] = Data("printf 'Content-Type: text/plain\\r\\n\\r\\n%s %s %s %s' \"$HTTPS\" \"$SSL_PROTOCOL\" \"$REQUEST_SCHEME\" \"$SSL_TLS_SNI\"\n".utf8)
        files["a/big.bin"] = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let (server, certificates) = try Self.start(config, files: files) { try $0.issue("a", names: ["a.test"]) }
        defer { server.stop() }
        let script = try TLSClient.get("a.test", port: server.port, path: "/cgi-bin/env.sh", ca: certificates.caFile)
        #expect(script.stdout == "on TLSv1.3 https a.test\n200", "\(script)")
        // A file larger than the cache goes out in read chunks (no sendfile under TLS), whole.
        let download = server.folder.appendingPathComponent("big.out").path
        let big = try TLSClient.get("a.test", port: server.port, path: "/big.bin", ca: certificates.caFile, extra: ["-o", download])
        #expect(big.stdout.hasSuffix("200"), "\(big)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: download)) == files["a/big.bin"])
    }
}

/// A count shared with a client thread.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}
