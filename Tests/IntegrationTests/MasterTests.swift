import Foundation
import Glibc
import Testing

/// SPEC §3 against the real binary: the master forks and supervises workers,
/// reloads by generation, and answers its signals.
@Suite struct MasterTests {
    static let files: [String: Data] = ["a.txt": Data("alpha".utf8), "big.bin": Data(count: 8 << 20)]

    static func config(workers: Int = 2, port: String = "{PORT}", extraVhost: String = "", server: String = "", level: String = "info") -> String {
        """
        server:
          workers: \(workers)
          shutdown_timeout: 5s
          pid_file: {DIR}/swerve.pid
        \(server)
        logging:
          access_log: {DIR}/access.log
          error_log: {DIR}/error.log
          level: \(level)
        vhosts:
          - names: [localhost]
            listen: ["127.0.0.1:\(port)"]
            root: {ROOT}
        \(extraVhost)
        """
    }

    /// A server with `config(…)` whose workers all run.
    static func start(workers: Int = 2, level: String = "info", server: String = "") throws -> TestServer {
        let instance = try TestServer(config: config(workers: workers, server: server, level: level), files: files)
        try instance.start()
        try waitUntil("\(workers) workers run", timeout: 10) { instance.workers.count == workers }
        return instance
    }

    private func start(workers: Int = 2, level: String = "info", server: String = "") throws -> TestServer {
        try Self.start(workers: workers, level: level, server: server)
    }

    /// The config with a second vhost, `other.test`, serving `{ROOT}/other/who.txt` ("other").
    static func configWithOtherVhost(_ server: TestServer) throws -> String {
        try FileManager.default.createDirectory(at: server.root.appendingPathComponent("other"), withIntermediateDirectories: true)
        try Data("other".utf8).write(to: server.root.appendingPathComponent("other/who.txt"))
        return config(port: String(server.port), extraVhost: """
              - names: [other.test]
                listen: ["127.0.0.1:\(server.port)"]
                root: {ROOT}/other
            """)
    }

    @Test func workersAreChildrenOfASingleThreadedMasterAndShareTheLoad() throws {
        let server = try start(workers: 3, level: "debug")
        #expect(ProcFS.name(server.pid) == "swerve: master")
        #expect(ProcFS.threads(of: server.pid) == 1)
        #expect(server.errorLog.contains("fork check: master has 1 thread"))
        let workers = server.workers
        #expect(workers.count == 3)
        #expect(workers.allSatisfy { ProcFS.parent(of: $0) == server.pid })
        // Hold many connections open, each with a request answered: more than one worker holds some.
        let before = Dictionary(uniqueKeysWithValues: workers.map { ($0, ProcFS.socketCount(of: $0)) })
        var connections: [RawConnection] = []
        for _ in 0..<30 {
            let connection = try server.connect()
            try connection.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try connection.readResponse().status == 200)
            connections.append(connection)
        }
        let busy = workers.filter { ProcFS.socketCount(of: $0) > before[$0]! }
        #expect(busy.count >= 2, "connections per worker: \(workers.map { ProcFS.socketCount(of: $0) - before[$0]! })")
    }

    @Test func aKilledWorkerIsReplaced() throws {
        let server = try start()
        let victim = try #require(server.workers.first)
        kill(victim, SIGKILL)
        try waitUntil("a replacement worker runs", timeout: 3) {
            let now = server.workers
            return now.count == 2 && !now.contains(victim)
        }
        #expect(try server.get("/a.txt").status == 200)
        try waitUntil("the death is logged", timeout: 10) { server.errorLog.contains("worker \(victim) of generation 1 died unexpectedly (signal KILL)") }
    }

    @Test func aWorkerThatServedIsReplacedAtOnceEveryTime() throws {
        // A request that kills its worker (a crash) must not buy downtime:
        // the back-off is for workers that cannot start, not ones that served.
        let server = try start(workers: 1, level: "debug")
        for round in 1...3 {
            let victim = try #require(server.workers.first)
            try waitUntil("the master knows worker \(victim) is ready", timeout: 10) {
                server.errorLog.contains("worker \(victim) of generation 1 ready")
            }
            #expect(try server.get("/a.txt").status == 200)
            kill(victim, SIGKILL)
            try waitUntil("a replacement serves (round \(round))", timeout: 10) {
                guard let worker = server.workers.first, worker != victim else { return false }
                return (try? server.get("/a.txt").status) == 200
            }
        }
        #expect(server.errorLog.components(separatedBy: "replacing it at once").count - 1 == 3, "\(server.errorLog)")
        #expect(!server.errorLog.contains("replacing it in"))
    }

    @Test func workersThatDieAtStartAreReplacedWithBackoff() throws {
        let server = try start(workers: 1)
        // The access log's folder vanishes: every new worker fails to open it and exits.
        let logs = server.folder.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try server.rewriteConfig(Self.config(workers: 1).replacingOccurrences(of: "{DIR}/access.log", with: "{DIR}/logs/access.log"))
        let first = server.workers
        server.signal(SIGHUP)
        try waitUntil("generation 2 alone serves", timeout: 10) {
            server.errorLog.contains("reload complete") && server.workers.count == 1 && Set(server.workers).isDisjoint(with: first)
        }
        try FileManager.default.removeItem(at: logs)
        let start = Date()
        kill(try #require(server.workers.first), SIGKILL)
        do {
            try waitUntil("back-off reaches 4 s", timeout: 15) { server.errorLog.contains("replacing it in 4.0 s") }
        } catch {
            Issue.record("\(error); error log:\n\(server.errorLog)")
            return
        }
        let deaths = server.errorLog.components(separatedBy: "died unexpectedly").count - 1
        let elapsed = Date().timeIntervalSince(start)
        // 0 + 1 + 2 s of back-off before the 4 s one: a handful of forks, never a storm.
        #expect(deaths <= 5, "\(deaths) deaths in \(elapsed) s")
        #expect(server.errorLog.contains("replacing it in 1.0 s"))
        #expect(server.errorLog.contains("replacing it in 2.0 s"))
    }

    @Test func reloadAddsAVhostAndKeepsServing() throws {
        let server = try start()
        let before = server.workers
        try server.rewriteConfig(Self.configWithOtherVhost(server))
        server.signal(SIGHUP)
        try waitUntil("generation 2 serves", timeout: 10) { server.errorLog.contains("reload complete: generation 2") }
        try waitUntil("old workers are gone", timeout: 10) { Set(server.workers).isDisjoint(with: before) && server.workers.count == 2 }
        let connection = try server.connect()
        try connection.send("GET /who.txt HTTP/1.1\r\nHost: other.test\r\n\r\n")
        #expect(try connection.readResponse().text == "other")
    }

    @Test func brokenConfigOnReloadKeepsTheOldOne() throws {
        let server = try start()
        try server.rewriteConfig(Self.config().replacingOccurrences(of: "  workers: 2", with: "  workerz: 2"))
        server.signal(SIGHUP)
        try waitUntil("the failure is logged", timeout: 10) { server.errorLog.contains("reload failed") }
        #expect(server.errorLog.contains("config.yaml:2:3: error: unknown key 'workerz' in server; did you mean 'workers'?"))
        #expect(try server.get("/a.txt").status == 200)
        #expect(server.workers.count == 2)
    }

    @Test func aNewGenerationThatNeverGetsReadyIsAbandoned() throws {
        let server = try start()
        let before = Set(server.workers)
        // A FIFO as access log: a new worker blocks opening it and never reports ready.
        let fifo = server.folder.appendingPathComponent("fifo.log").path
        #expect(mkfifo(fifo, 0o644) == 0)
        try server.rewriteConfig(Self.config().replacingOccurrences(of: "{DIR}/access.log", with: fifo))
        server.signal(SIGHUP)
        try waitUntil("the reload is abandoned", timeout: 20) { server.errorLog.contains("reload failed: generation 2 was not ready") }
        try waitUntil("only the old workers remain", timeout: 15) { Set(server.workers) == before }
        #expect(try server.get("/a.txt").status == 200)
    }

    @Test func reloadMovesToANewPort() throws {
        let server = try start()
        let newPort = try TestServer.freePortForTests()
        try server.rewriteConfig(Self.config(port: String(newPort)))
        server.signal(SIGHUP)
        try waitUntil("the old port is closed", timeout: 10) { (try? RawConnection(port: server.port)) == nil }
        let connection = try RawConnection(port: newPort)
        try connection.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try connection.readResponse().text == "alpha")
    }

    @Test func reloadsUnderLoadLoseNoRequest() throws {
        let server = try start()
        let port = server.port
        let stop = Atomic(false)
        let failures = Atomic(0), successes = Atomic(0), firstFailure = Atomic("")
        // Real threads: the load must run while the test thread waits on reloads.
        var threads: [Thread] = []
        let finished = Atomic(0)
        for _ in 0..<8 {
            let thread = Thread {
                var connection: RawConnection?
                while !stop.value {
                    do {
                        if connection == nil { connection = try RawConnection(port: port) }
                        try connection!.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
                        let response = try connection!.readResponse()
                        if response.status == 200 && response.text == "alpha" {
                            successes.add(1)
                        } else {
                            failures.add(1)
                            firstFailure.set(response.statusLine)
                        }
                        if response.header("connection") == "close" { connection = nil }
                    } catch let failure as TestFailure where failure.description.contains("closed before a response head") {
                        connection = nil  // an idle keep-alive connection closed cleanly: retry, as HTTP clients do
                    } catch {
                        failures.add(1)
                        firstFailure.set("\(error)")
                        connection = nil
                    }
                }
                finished.add(1)
            }
            threads.append(thread)
            thread.start()
        }
        for generation in 2...11 {
            // Some requests between reloads, so that every reload happens under load.
            let served = successes.value
            try waitUntil("requests are flowing", timeout: 10) { successes.value >= served + 20 }
            server.signal(SIGHUP)
            try waitUntil("generation \(generation) serves", timeout: 15) { server.errorLog.contains("reload complete: generation \(generation) ") }
        }
        stop.set(true)
        try waitUntil("the load threads stop", timeout: 20) { finished.value == 8 }
        #expect(failures.value == 0, "first failure: \(firstFailure.value)")
        #expect(successes.value > 100)
    }

    @Test func quitLetsASlowResponseFinishThenExitsZero() throws {
        let server = try start(workers: 1)
        let connection = try server.connect()
        try connection.send("GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        // Read a little: the response is under way and stalls on our window.
        var received = try connection.readSome()
        server.signal(SIGQUIT)
        try waitUntil("the worker drains while the response is in flight", timeout: 15) { server.errorLog.contains("worker draining") }
        received += try connection.readToEnd().count
        #expect(received >= 8 << 20)
        try waitUntil("the master exits", timeout: 10) { server.process?.isRunning == false }
        #expect(server.process?.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: server.folder.appendingPathComponent("swerve.pid").path))
    }

    @Test func termStopsWithinTwoSeconds() throws {
        let server = try start()
        let start = Date()
        server.signal(SIGTERM)
        try waitUntil("the master exits", timeout: 2) { server.process?.isRunning == false }
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(server.process?.terminationStatus == 0)
    }

    @Test func ttinAndTtouChangeTheWorkerCount() throws {
        let server = try start()
        server.signal(SIGTTIN)
        try waitUntil("3 workers", timeout: 15) { server.workers.count == 3 }
        // One at a time: the kernel merges a signal sent while the same one is pending.
        server.signal(SIGTTOU)
        try waitUntil("2 workers", timeout: 15) { server.workers.count == 2 }
        server.signal(SIGTTOU)
        try waitUntil("1 worker", timeout: 15) { server.workers.count == 1 }
        server.signal(SIGTTOU)  // never below one
        try waitUntil("the last TTOU is refused", timeout: 15) { server.errorLog.contains("TTOU ignored") }
        #expect(server.workers.count == 1)
        #expect(try server.get("/a.txt").status == 200)
    }

    @Test func signalCommandReloadsTheMasterOfThePidFile() throws {
        let server = try start()
        let result = try SwerveBinary.run(["signal", "reload", "-c", server.configFile.path])
        #expect(result.status == 0, "\(result.stderr)")
        try waitUntil("the reload happens", timeout: 10) { server.errorLog.contains("reload complete: generation 2") }
    }

    @Test func signalCommandRefusesAStalePidFile() throws {
        let server = try TestServer(config: Self.config(), files: Self.files)
        // No server running: a pid file naming this test process, which is no swerve master.
        try "\(getpid())\n".write(to: server.folder.appendingPathComponent("swerve.pid"), atomically: true, encoding: .utf8)
        let result = try SwerveBinary.run(["signal", "reload", "-c", server.configFile.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("not a swerve master"))
    }

    @Test(.enabled(if: getuid() == 0, "needs root to drop privileges"))
    func workersDropPrivilegesToTheConfiguredUser() throws {
        let nobody = try #require(getpwnam("nobody")).pointee.pw_uid
        let server = try TestServer(config: Self.config(server: "  user: nobody"), files: Self.files)
        try server.start()
        let worker = try #require(server.workers.first)
        let status = try String(contentsOfFile: "/proc/\(worker)/status", encoding: .utf8)
        let uids = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(separator: "\t").dropFirst().compactMap { uid_t($0) }
        #expect(uids == [nobody, nobody, nobody, nobody])
        #expect(try server.get("/a.txt").status == 200)  // it still writes the access log it opened as root
        try waitUntil("the access log is written", timeout: 15) { server.accessLog.contains("GET /a.txt") }
    }

    @Test func aHungWorkerIsKilledAndReplaced() throws {
        let server = try TestServer(config: Self.config(workers: 1).replacingOccurrences(of: "shutdown_timeout: 5s", with: "shutdown_timeout: 2s"),
                                    files: Self.files)
        try server.start()
        let hung = try #require(server.workers.first)
        kill(hung, SIGSTOP)  // its event loop stops: no more heartbeats
        try waitUntil("the hung worker is replaced", timeout: 10) { server.workers.count == 1 && server.workers.first != hung }
        #expect(server.errorLog.contains("killing worker \(hung): no heartbeat"))
        #expect(try server.get("/a.txt").status == 200)
    }

    @Test func socketsFromSystemdAreAdopted() throws {
        let server = try TestServer(config: Self.config(workers: 1), files: Self.files)
        // As systemd does: the listening socket is fd 3, LISTEN_PID is the server's own pid.
        let script = """
            import os, socket, sys
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", \(server.port))); s.listen(16)
            os.dup2(s.fileno(), 3); os.set_inheritable(3, True)
            os.environ["LISTEN_FDS"] = "1"; os.environ["LISTEN_PID"] = str(os.getpid())
            os.execv(sys.argv[1], [sys.argv[1], "serve", "-c", sys.argv[2]])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, SwerveBinary.path, server.configFile.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        try waitUntil("the master adopts the socket", timeout: 10) { server.errorLog.contains("generation 1 ready") }
        #expect(server.errorLog.contains("adopted listener 127.0.0.1:\(server.port) from systemd"))
        // systemd's Backlog= (16 here) stays: the worker puts it back after NIO's listen.
        #expect(try SwerveBinary.listenBacklog(port: server.port) == "16")
        let connection = try server.connect()
        try connection.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try connection.readResponse().text == "alpha")
    }

    @Test func systemdNotificationsArriveInOrder() throws {
        let socketPath = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-notify-\(UUID().uuidString)").path
        let listener = try NotifyListener(path: socketPath)
        let server = try TestServer(config: Self.config(), files: Self.files)
        server.environment = ["NOTIFY_SOCKET": socketPath]
        try server.start()
        let ready = try listener.next()
        #expect(ready.contains("READY=1") && ready.contains("MAINPID=\(server.pid)") && ready.contains("STATUS="))
        server.signal(SIGHUP)
        #expect(try listener.next().hasPrefix("RELOADING=1\nMONOTONIC_USEC="))
        #expect(try listener.next().hasPrefix("READY=1"))
        server.signal(SIGTERM)
        #expect(try listener.next() == "STOPPING=1")
    }
}

/// A datagram socket standing in for systemd's notification socket.
final class NotifyListener {
    private let fd: Int32
    private let path: String

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw TestFailure("cannot bind \(path)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next message, within 10 s.
    func next() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count > 0 else { throw TestFailure("no notification within 10 s") }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}

/// A tiny lock-protected value shared by the load threads of a test.
final class Atomic<Value>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func set(_ value: Value) { lock.withLock { stored = value } }
    func lockedUpdate(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}

extension Atomic where Value == Int {
    func add(_ amount: Int) { lock.withLock { stored += amount } }
}
