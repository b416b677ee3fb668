import Foundation
import Glibc
import Testing

/// Automatic certificates (SPEC §4, issue 17) against a real ACME server:
/// Debian's pebble, on loopback, validating through swerve's own listeners.
/// Each test has its own pebble, DNS and ports.
@Suite(.serialized) struct ACMETests {
    /// One ACME vhost on a plain port (http-01) and a TLS port, and one
    /// unrelated plain vhost on the same plain port.
    static func config(_ plain: Int, _ pebble: Pebble, extraVHosts: String = "", acme: String = "") -> String {
        """
        server: { workers: 1, shutdown_timeout: 5s }
        logging: { access_log: "{DIR}/access.log", error_log: "{DIR}/error.log" }
        acme:
          email: admin@example.com
          directory: \(pebble.directory)
          ca_roots: \(pebble.directoryRoots)
          storage: "{DIR}/acme"
        \(acme)
        vhosts:
          - names: [a.test, www.a.test]
            listen: ["127.0.0.1:{PORT} tls", "127.0.0.1:\(plain)"]
            root: {ROOT}/a
            tls: { acme: true }
          - names: [other.test]
            default: true
            listen: ["127.0.0.1:\(plain)"]
            root: {ROOT}/other
        \(extraVHosts)
        """
    }

    static let files = ["a/index.html": Data("site a".utf8), "b/index.html": Data("site b".utf8),
                        "other/index.html": Data("other".utf8)]

    /// A server and a pebble aimed at it; pebble is started unless `startCA` is false.
    static func start(startCA: Bool = true, validity: Int? = nil, validationDelay: Int? = nil, reuseAuthorizations: Bool = false,
                      extraVHosts: String = "", acme: String = "") throws -> (TestServer, Pebble, plain: Int) {
        let plain = try TestServer.freePortForTests()
        // The server's folder is made first; pebble lives in it, on the ports it will use.
        let placeholder = try TestServer(config: "", files: Self.files)
        let pebble = try Pebble(in: placeholder.folder, httpPort: plain, tlsPort: placeholder.port,
                                validity: validity, validationDelay: validationDelay, reuseAuthorizations: reuseAuthorizations)
        try placeholder.rewriteConfig(config(plain, pebble, extraVHosts: extraVHosts, acme: acme))
        if startCA { try pebble.start() }
        try placeholder.start()
        return (placeholder, pebble, plain)
    }

    /// curl, trusting only pebble's issuing root, over TLS to NAME.
    static func verifiedGet(_ name: String, _ server: TestServer, _ pebble: Pebble) throws -> SwerveBinary.Result {
        try TLSClient.get(name, port: server.port, ca: try pebble.issuingRoot())
    }

    static func waitForCertificate(_ name: String, body: String, _ server: TestServer, _ pebble: Pebble,
                                   timeout: TimeInterval = 30) throws {
        do {
            try waitUntil("\(name) serves pebble's certificate", timeout: timeout) {
                let result = try verifiedGet(name, server, pebble)
                return result.status == 0 && result.stdout == body + "\n200"
            }
        } catch {
            // What the helper and the CA said is what explains a timeout.
            throw TestFailure("\(error)\n-- error log:\n\(server.errorLog.suffix(4000))\n-- pebble:\n\(pebble.log.suffix(3000))")
        }
    }

    @Test func firstCertificateWithHTTP01() throws {
        let (server, pebble, _) = try Self.start()
        defer { server.stop() }
        try Self.waitForCertificate("a.test", body: "site a", server, pebble)
        try Self.waitForCertificate("www.a.test", body: "site a", server, pebble)
        let log = server.errorLog
        #expect(log.contains("acme: a.test proved with http-01"))
        #expect(log.contains("acme: certificate for a.test, www.a.test stored"))
        #expect(log.contains("the acme helper stored a new certificate: reloading"))
        // Keys 0600, in the layout docs/operations.md describes.
        let storage = server.folder.appendingPathComponent("acme").path
        let folder = "\(storage)/certificates/localhost-\(pebble.port)-dir/a.test"
        #expect(try Self.mode("\(folder)/key.pem") == 0o600)
        #expect(try Self.mode("\(storage)/accounts/localhost-\(pebble.port)-dir/key.pem") == 0o600)
        #expect(FileManager.default.fileExists(atPath: "\(folder)/fullchain.pem"))
        // The helper is a supervised child named as SPEC §3 says.
        #expect(ProcFS.children(of: server.pid).contains { ProcFS.name($0) == "swerve: acme" })
        // No challenge answer is left behind.
        try waitUntil("answers removed") {
            (try FileManager.default.contentsOfDirectory(atPath: "\(storage)/challenges")).allSatisfy { $0 == "tls-alpn-01" }
        }
    }

    @Test func firstCertificateWithTLSALPN01() throws {
        let (server, pebble, _) = try Self.start(acme: "  challenge: tls-alpn-01")
        defer { server.stop() }
        try Self.waitForCertificate("a.test", body: "site a", server, pebble)
        #expect(server.errorLog.contains("acme: a.test proved with tls-alpn-01"))
        #expect(server.errorLog.contains("acme: www.a.test proved with tls-alpn-01"))
        // Only a validator asks for acme-tls/1; with no challenge out, it gets the vhost's own certificate.
        let handshake = try TLSClient.handshake(port: server.port, serverName: "a.test", ca: try pebble.issuingRoot(),
                                                arguments: ["-alpn", "acme-tls/1"])
        #expect(handshake.contains("ALPN protocol: acme-tls/1"), "\(handshake)")
        #expect(handshake.contains("Verification: OK"), "\(handshake)")
    }

    @Test func directoryDownAtStartThenBack() throws {
        let (server, pebble, plain) = try Self.start(startCA: false)
        defer { server.stop() }
        // A self-signed stand-in meanwhile, and the log says who waits and why.
        let standIn = try server.servedCertificate("a.test")
        #expect(standIn.contains("subject=CN = a.test") && standIn.contains("issuer=CN = a.test"), "\(standIn)")
        try waitUntil("the failure is logged with its back-off", timeout: 15) {
            server.errorLog.contains("acme: cannot get a certificate for a.test, www.a.test from \(pebble.directory): cannot connect")
        }
        #expect(server.errorLog.contains("'a.test' waits for its ACME certificate (no certificate from the ACME directory yet)"))
        #expect(server.errorLog.contains("attempt 1, retrying in 5 s"))
        // Plain vhosts serve throughout.
        #expect(try Self.plainGet("/", port: plain).status == 200)
        try pebble.start()
        try Self.waitForCertificate("a.test", body: "site a", server, pebble, timeout: 45)
    }

    @Test func aVhostAddedByReloadGetsItsOwnCertificate() throws {
        let (server, pebble, plain) = try Self.start()
        defer { server.stop() }
        try Self.waitForCertificate("a.test", body: "site a", server, pebble)
        let helper = ProcFS.children(of: server.pid).first { ProcFS.name($0) == "swerve: acme" }
        try server.rewriteConfig(Self.config(plain, pebble, extraVHosts: """
              - names: [b.test]
                listen: ["127.0.0.1:{PORT} tls", "127.0.0.1:\(plain)"]
                root: {ROOT}/b
                tls: { acme: true }
            """))
        let reload = try SwerveBinary.run(["signal", "reload", "-c", server.configFile.path, "--pid", String(server.pid)])
        #expect(reload.status == 0, "\(reload.stderr)")
        try Self.waitForCertificate("b.test", body: "site b", server, pebble)
        // Each vhost has its own certificate, and a.test kept its own.
        #expect(try server.servedCertificate("b.test").contains("subject=CN = b.test"))
        try Self.waitForCertificate("a.test", body: "site a", server, pebble)
        // The helper was replaced: what it works on changed.
        let now = ProcFS.children(of: server.pid).first { ProcFS.name($0) == "swerve: acme" }
        #expect(now != nil && now != helper)
    }

    @Test func aFailingChallengeBacksOffWithoutACrash() throws {
        // pebble validates http-01 on a port where nothing listens.
        let plain = try TestServer.freePortForTests()
        let nowhere = try TestServer.freePortForTests()
        let server = try TestServer(config: "", files: Self.files)
        defer { server.stop() }
        let pebble = try Pebble(in: server.folder, httpPort: nowhere, tlsPort: server.port)
        try server.rewriteConfig(Self.config(plain, pebble))
        try pebble.start()
        try server.start()
        try waitUntil("the failed challenge is logged", timeout: 20) {
            server.errorLog.contains("http-01 for ") && server.errorLog.contains("failed: connection")
        }
        #expect(server.errorLog.contains("attempt 1, retrying in 60 s"))
        // Still the stand-in, still serving, the helper still alive.
        #expect(try server.servedCertificate("a.test").contains("issuer=CN = a.test"))
        #expect(ProcFS.children(of: server.pid).contains { ProcFS.name($0) == "swerve: acme" })
        #expect(!server.errorLog.contains("died unexpectedly"))
    }

    @Test func challengePathServedOnlyWithALiveToken() throws {
        let (server, pebble, plain) = try Self.start(startCA: false)
        defer { server.stop() }
        _ = pebble
        try waitUntil("the helper started", timeout: 10) { server.errorLog.contains("acme: helper started") }
        let token = "Tok3n_-abc"
        let answers = server.folder.appendingPathComponent("acme/challenges")
        func get(_ path: String) throws -> HTTPTestResponse { try Self.plainGet(path, port: plain) }
        #expect(try get("/.well-known/acme-challenge/\(token)").status == 404)
        try Data("\(token).thumb".utf8).write(to: answers.appendingPathComponent(token))
        let live = try get("/.well-known/acme-challenge/\(token)")
        #expect(live.status == 200)
        #expect(String(decoding: live.body, as: UTF8.self) == "\(token).thumb")
        try FileManager.default.removeItem(at: answers.appendingPathComponent(token))
        #expect(try get("/.well-known/acme-challenge/\(token)").status == 404)
    }

    @Test func renewsAShortLivedCertificate() throws {
        // 15 s certificates: renewed a third of their life before expiry. The
        // renewal reuses the first order's authorizations: what is tested is
        // when the helper renews, not a second validation (a failed one backs
        // off for a minute, longer than this test waits). A loaded CI run once
        // timed out here without saying why: a timeout now prints both logs.
        let (server, pebble, _) = try Self.start(validity: 15, reuseAuthorizations: true)
        defer { server.stop() }
        try Self.waitForCertificate("a.test", body: "site a", server, pebble)
        let first = try server.servedCertificate("a.test")
        do {
            try waitUntil("a renewal", timeout: 30) {
                server.errorLog.components(separatedBy: "acme: certificate for a.test, www.a.test stored").count == 3
            }
        } catch {
            throw TestFailure("\(error)\n-- error log:\n\(server.errorLog.suffix(6000))\n-- pebble:\n\(pebble.log.suffix(3000))")
        }
        #expect(server.errorLog.contains("(renewal)"))
        try waitUntil("the renewed certificate is served", timeout: 10) {
            let now = try server.servedCertificate("a.test")
            return now.contains("serial=") && now != first
        }
    }

    @Test func aReloadLeavesAPendingOrderAlone() throws {
        // pebble's VA waits 0-3 s (at random) before each validation: the order is most likely pending meanwhile.
        let (server, pebble, _) = try Self.start(validationDelay: 4)
        defer { server.stop() }
        try waitUntil("an order is under way", timeout: 10) { server.errorLog.contains("acme: requesting a certificate") }
        let helper = ProcFS.children(of: server.pid).first { ProcFS.name($0) == "swerve: acme" }
        #expect(helper != nil)
        // A reload that changes nothing ACME-related leaves the helper and its order alone.
        let reload = try SwerveBinary.run(["signal", "reload", "-c", server.configFile.path, "--pid", String(server.pid)])
        #expect(reload.status == 0, "\(reload.stderr)")
        try Self.waitForCertificate("a.test", body: "site a", server, pebble, timeout: 40)
        // Same helper, one order, no failure: the reload did not touch it.
        #expect(ProcFS.children(of: server.pid).first { ProcFS.name($0) == "swerve: acme" } == helper)
        #expect(server.errorLog.components(separatedBy: "acme: requesting a certificate").count == 2)
        #expect(!server.errorLog.contains("replacing the acme helper"))
        #expect(!server.errorLog.contains("acme: cannot get a certificate"))
    }

    @Test func quitWhileAnOrderIsPending() throws {
        // pebble validates http-01 against a socket that accepts and never answers: the order stays pending.
        let hanging = try HangingListener()
        let plain = try TestServer.freePortForTests()
        let server = try TestServer(config: "", files: Self.files)
        defer { server.stop() }
        let pebble = try Pebble(in: server.folder, httpPort: hanging.port, tlsPort: server.port)
        try server.rewriteConfig(Self.config(plain, pebble))
        try pebble.start()
        try server.start()
        let answers = server.folder.appendingPathComponent("acme/challenges").path
        // The helper makes the folder: until it exists, no answer is out yet.
        try waitUntil("a challenge answer is out", timeout: 15) {
            ((try? FileManager.default.contentsOfDirectory(atPath: answers))?.count ?? 0) > 1
        }
        let started = Date()
        server.signal(SIGQUIT)
        try waitUntil("the server exits", timeout: 10) { server.process?.isRunning == false }
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(server.errorLog.contains("acme: helper stopping (QUIT)"))
        // The abandoned order is no failure.
        #expect(!server.errorLog.contains("acme: cannot get a certificate"))
        #expect(server.errorLog.contains("acme helper") && server.errorLog.contains("exited (exit code 0)"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: answers) == ["tls-alpn-01"])
    }

    /// GET on the plain port for the unrelated vhost, other.test.
    static func plainGet(_ path: String, port: Int) throws -> HTTPTestResponse {
        let connection = try RawConnection(port: port)
        try connection.send("GET \(path) HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n")
        return try connection.readResponse(method: "GET")
    }

    @Test func aCertificateStoredWhileTheConfigIsBrokenIsServedAfterTheNextGoodReload() throws {
        let (server, pebble, plain) = try Self.start(startCA: false)
        defer { server.stop() }
        let good = Self.config(plain, pebble)
        try server.rewriteConfig(good + "\n  - this is not a vhost\n")
        try pebble.start()
        // The helper's reload fails on the broken file: the old generation serves, and the master says so.
        try waitUntil("the failed reload is reported", timeout: 30) {
            server.errorLog.contains("the acme helper's new certificate is not served yet: the reload failed; trying again in")
        }
        #expect(try server.servedCertificate("a.test").contains("issuer=CN = a.test"))
        try server.rewriteConfig(good)
        let reload = try SwerveBinary.run(["signal", "reload", "-c", server.configFile.path, "--pid", String(server.pid)])
        #expect(reload.status == 0, "\(reload.stderr)")
        try Self.waitForCertificate("a.test", body: "site a", server, pebble, timeout: 10)
    }

    @Test func theHelperIsSupervisedLikeAWorker() throws {
        let (server, _, _) = try Self.start(startCA: false)
        defer { server.stop() }
        // A live helper other than `previous` (a killed one may linger as a zombie until reaped).
        func newHelper(after previous: pid_t?) throws -> pid_t {
            var found: pid_t = 0
            try waitUntil("a helper other than \(previous ?? 0)", timeout: 15) {
                guard let pid = ProcFS.children(of: server.pid).first(where: {
                    ProcFS.name($0) == "swerve: acme" && ProcFS.state(of: $0) != "Z" && $0 != previous
                }) else { return false }
                found = pid
                return true
            }
            return found
        }
        // Killed: replaced, with the cause logged.
        let first = try newHelper(after: nil)
        kill(first, SIGKILL)
        let second = try newHelper(after: first)
        #expect(server.errorLog.contains("acme helper \(first) died unexpectedly (signal KILL)"))
        // Stopped (no heartbeat): killed after shutdown_timeout (5 s here), then replaced.
        kill(second, SIGSTOP)
        _ = try newHelper(after: second)
        #expect(server.errorLog.contains("killing acme helper \(second): no heartbeat"))
        // Workers served throughout.
        #expect(server.workers.count == 1)
    }

    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int ?? 0) & 0o777
    }
}

/// A loopback socket that listens and never accepts: connections complete
/// in the kernel and then hear nothing.
final class HangingListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw TestFailure("no hanging listener") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
