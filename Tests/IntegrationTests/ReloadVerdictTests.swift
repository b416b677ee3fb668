import Foundation
import Glibc
import Testing

/// SPEC §3.1 against the real binary: `swerve signal reload` waits for the
/// master's verdict and exits with it; HUPs during a reload are queued; a
/// reload applies the new pid file and error log.
@Suite struct ReloadVerdictTests {
    private func start(workers: Int = 2, server: String = "") throws -> TestServer {
        try MasterTests.start(workers: workers, server: server)
    }

    private func reload(_ server: TestServer, _ extra: [String] = [], timeout: TimeInterval = 40) throws -> SwerveBinary.Result {
        try SwerveBinary.run(["signal", "reload", "-c", server.configFile.path] + extra, timeout: timeout)
    }

    @Test func aReloadThatWorksExitsZeroWithTheNewGeneration() throws {
        let server = try start()
        let result = try reload(server)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "reloaded: generation 2, 2 workers\n")
        #expect(server.errorLog.contains("reload complete: generation 2"))
    }

    @Test(.enabled(if: getuid() == 0, "needs root to run the client as another user"))
    func onlyTheServersUserMayAskForAReload() throws {
        let server = try start()
        let result = try SwerveBinary.run(asUser: "nobody", ["signal", "reload", "--pid", String(server.pid), "-c", "/nonexistent.yaml"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("permission denied"), "\(result.stderr)")
        #expect(!server.errorLog.contains("reloading"))
    }

    @Test func aConfigErrorExitsOneWithItsPositionAndTheOldConfigServes() throws {
        let server = try start()
        try server.rewriteConfig(MasterTests.config().replacingOccurrences(of: "  workers: 2", with: "  workerz: 2"))
        let result = try reload(server)
        #expect(result.status == 1)
        #expect(result.stderr.contains("config.yaml:2:3: error: unknown key 'workerz' in server; did you mean 'workers'?"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(try server.get("/a.txt").text == "alpha")
        // Fixed: the next reload succeeds.
        try server.rewriteConfig(MasterTests.config())
        #expect(try reload(server).status == 0)
    }

    @Test func aPortInUseExitsOneAndNamesTheListener() throws {
        let server = try start()
        // A port some other program holds.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let busy = try TestServer.freePortForTests()
        address.sin_port = in_port_t(UInt16(busy).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0 && listen(holder, 1) == 0)
        try server.rewriteConfig(MasterTests.config(port: String(server.port), extraVhost: """
              - names: [other.test]
                listen: ["127.0.0.1:\(busy)"]
                root: {ROOT}
            """))
        let result = try reload(server)
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot listen on 127.0.0.1:\(busy): Address already in use"), "\(result.stderr)")
        #expect(try server.get("/a.txt").status == 200)
    }

    @Test func workersThatNeverGetReadyExitOneAndSaySo() throws {
        let server = try start()
        // A FIFO as access log: a new worker blocks opening it and never reports ready.
        let fifo = server.folder.appendingPathComponent("fifo.log").path
        #expect(mkfifo(fifo, 0o644) == 0)
        try server.rewriteConfig(MasterTests.config().replacingOccurrences(of: "{DIR}/access.log", with: fifo))
        let result = try reload(server)
        #expect(result.status == 1)
        #expect(result.stderr.contains("generation 2: 0 of 2 workers ready after 10 s; still serving generation 1"), "\(result.stderr)")
        #expect(try server.get("/a.txt").status == 200)
    }

    @Test func noVerdictInTimeExitsTwo() throws {
        let server = try TestServer(config: MasterTests.config(workers: 1).replacingOccurrences(of: "shutdown_timeout: 5s", with: "shutdown_timeout: 1s"),
                                    files: MasterTests.files)
        try server.start()
        // A master that cannot answer: stopped. The kernel still queues the connection.
        server.signal(SIGSTOP)
        defer { server.signal(SIGCONT) }
        let started = Date()
        let result = try reload(server)
        #expect(result.status == 2)
        #expect(result.stderr.contains("no verdict from master \(server.pid) after 11 s"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) >= 10.5)
    }

    @Test func noWaitOnlySendsTheSignal() throws {
        let server = try start()
        try server.rewriteConfig(MasterTests.config().replacingOccurrences(of: "  workers: 2", with: "  workerz: 2"))
        let result = try reload(server, ["--no-wait"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("has errors"))
        try waitUntil("the master reports the failure in its log", timeout: 10) { server.errorLog.contains("reload failed") }
    }

    @Test func hupsDuringAReloadMakeExactlyOneMore() throws {
        let server = try start()
        // Reload 1 hangs for its 10 s: its workers block on a FIFO access log.
        let fifo = server.folder.appendingPathComponent("fifo.log").path
        #expect(mkfifo(fifo, 0o644) == 0)
        try server.rewriteConfig(MasterTests.config().replacingOccurrences(of: "{DIR}/access.log", with: fifo))
        server.signal(SIGHUP)
        try waitUntil("reload 1 is under way", timeout: 10) { server.errorLog.components(separatedBy: "reloading ").count == 2 }
        // Meanwhile the file changes again, and HUPs arrive in a burst.
        try server.rewriteConfig(MasterTests.configWithOtherVhost(server))
        for _ in 0..<5 {
            server.signal(SIGHUP)
            usleep(2_000)
        }
        try waitUntil("the queued reload completes", timeout: 30) { server.errorLog.contains("reload complete: generation 3") }
        #expect(server.errorLog.contains("reload failed: generation 2 was not ready"))
        #expect(server.errorLog.components(separatedBy: "reloading ").count == 3, "exactly two reloads ran")
        let connection = try server.connect()
        try connection.send("GET /who.txt HTTP/1.1\r\nHost: other.test\r\n\r\n")
        #expect(try connection.readResponse().text == "other")
    }

    @Test func aReloadMovesThePidFileAndTheErrorLog() throws {
        let server = try start(workers: 1)
        let moved = MasterTests.config(workers: 1)
            .replacingOccurrences(of: "{DIR}/swerve.pid", with: "{DIR}/moved.pid")
            .replacingOccurrences(of: "{DIR}/error.log", with: "{DIR}/moved-error.log")
            .replacingOccurrences(of: "level: info", with: "level: debug")
        try server.rewriteConfig(moved)
        // The edited config names a pid file that does not exist yet: the master is named by pid.
        let lost = try reload(server)
        #expect(lost.status == 1)
        #expect(lost.stderr.contains("name the running master with --pid"), "\(lost.stderr)")
        let result = try reload(server, ["--pid", String(server.pid)])
        #expect(result.status == 0, "\(result.stderr)")
        let folder = server.folder
        #expect(try String(contentsOf: folder.appendingPathComponent("moved.pid"), encoding: .utf8) == "\(server.pid)\n")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("swerve.pid").path))
        // What logrotate's hook runs finds the master through the new pid file.
        let reopen = try SwerveBinary.run(["signal", "reopen", "-c", server.configFile.path])
        #expect(reopen.status == 0, "\(reopen.stderr)")
        let movedLog = folder.appendingPathComponent("moved-error.log")
        try waitUntil("the master and the new worker log to the new file", timeout: 10) {
            let text = (try? String(contentsOf: movedLog, encoding: .utf8)) ?? ""
            return text.contains("USR1: logs reopened") && text.contains("worker reopened its logs")
        }
        // The new level applies too: the master's debug lines appear.
        #expect(try reload(server).status == 0)
        let text = try String(contentsOf: movedLog, encoding: .utf8)
        #expect(text.contains("[debug]"))
        #expect(!server.errorLog.contains("reload complete: generation 3"))
    }

    @Test(.enabled(if: getuid() == 0, "needs root to mount a read-only file system"))
    func anUploadDirTheServiceCannotWriteFailsTheReload() throws {
        let server = try start(workers: 1)
        let readOnly = server.folder.appendingPathComponent("ro-uploads")
        try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
        // What systemd's ProtectSystem=strict makes of a folder missing from ReadWritePaths=.
        guard mountReadOnly(readOnly.path) else { return }
        defer { _ = umount2(readOnly.path, Int32(MNT_DETACH)) }
        try server.rewriteConfig(MasterTests.config(workers: 1, extraVhost: """
                routes:
                  - path: /upload
                    type: upload
                    dir: \(readOnly.path)
            """))
        let result = try reload(server)
        #expect(result.status == 1)
        #expect(result.stderr.contains("upload dir '\(readOnly.path)' is not writable: read-only file system"), "\(result.stderr)")
        #expect(result.stderr.contains("ReadWritePaths="))
        let check = try SwerveBinary.run(["check", "-c", server.configFile.path])
        #expect(check.status == 1)
        #expect(check.stderr.contains("is not writable: read-only file system"), "\(check.stderr)")
    }

    @Test(.enabled(if: getuid() == 0, "needs root to run the check as another user"))
    func checkAsTheServicesUserReportsAnUploadDirItCannotWrite() throws {
        let server = try TestServer(config: MasterTests.config(workers: 1, extraVhost: """
                routes:
                  - path: /upload
                    type: upload
                    dir: {DIR}/root-only
            """), files: MasterTests.files)
        let folder = server.folder.appendingPathComponent("root-only")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        #expect(chmod(folder.path, 0o755) == 0 && chmod(server.folder.path, 0o755) == 0)
        let result = try SwerveBinary.run(asUser: "nobody", ["check", "-c", server.configFile.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("upload dir '\(folder.path)' is not writable by user 'nobody'"), "\(result.stderr)")
    }

    private func mountReadOnly(_ path: String) -> Bool {
        mount("tmpfs", path, "tmpfs", UInt(MS_RDONLY), "size=64k") == 0
    }
}
