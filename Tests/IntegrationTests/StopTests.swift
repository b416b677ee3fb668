import Foundation
import Glibc
import Testing

/// SPEC §3 and §3.1 at the edges of a process's life: stops refuse new
/// clients at once, workers outlive neither their master nor a QUIT sent
/// while they start, and the listen backlog is the configured one.
@Suite struct StopTests {
    private func start(workers: Int = 1, server: String = "") throws -> TestServer {
        try MasterTests.start(workers: workers, server: server)
    }

    /// Whether a connection to `port` is refused (RST) rather than accepted or left waiting.
    private func refused(_ port: Int) -> Bool {
        do {
            _ = try RawConnection(port: port)
            return false
        } catch {
            return errno == ECONNREFUSED || "\(error)".contains("refused")
        }
    }

    @Test func quitRefusesNewConnectionsAtOnceWhileASlowResponseFinishes() throws {
        let server = try start(workers: 2)
        let connection = try server.connect()
        try connection.send("GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        var received = try connection.readSome()  // the response is under way, stalled on our window
        let quitAt = Date()
        server.signal(SIGQUIT)
        try waitUntil("new connections are refused", timeout: 2) { refused(server.port) }
        #expect(Date().timeIntervalSince(quitAt) < 0.5, "refused only after \(Date().timeIntervalSince(quitAt)) s")
        // Each later attempt is refused at once, not queued for nobody.
        let attempt = Date()
        #expect(refused(server.port))
        #expect(Date().timeIntervalSince(attempt) < 0.1)
        received += try connection.readToEnd().count
        #expect(received >= 8 << 20)
        try waitUntil("the master exits", timeout: 10) { server.process?.isRunning == false }
        #expect(server.process?.terminationStatus == 0)
    }

    @Test func termRefusesNewConnectionsAtOnce() throws {
        let server = try start()
        server.signal(SIGTERM)
        try waitUntil("new connections are refused", timeout: 1) { refused(server.port) }
        try waitUntil("the master exits", timeout: 5) { server.process?.isRunning == false }
        #expect(server.process?.terminationStatus == 0)
    }

    @Test func theListenBacklogIsTheConfiguredOne() throws {
        let server = try start(server: "  backlog: 77")
        #expect(try SwerveBinary.listenBacklog(port: server.port) == "77")
    }

    @Test func aWorkerWhoseMasterWasKilledDrainsAndExits() throws {
        let server = try start(workers: 2)
        let workers = server.workers
        // Should they outlive the test, nothing would ever reap the master (Foundation
        // waits for every holder of its descriptors): never leave them running.
        defer { for worker in workers { kill(worker, SIGKILL) } }
        kill(server.pid, SIGKILL)
        try waitUntil("the orphaned workers exit", timeout: 5) { workers.allSatisfy { ProcFS.name($0) == nil } }
        #expect(server.errorLog.contains("the master is gone; draining"))
        // The ports are free again: a new master starts on them.
        let successor = try TestServer(config: MasterTests.config(workers: 1, port: String(server.port)), files: MasterTests.files)
        try successor.start()
        let connection = try RawConnection(port: server.port)
        try connection.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try connection.readResponse().text == "alpha")
    }

    @Test func aQuitWhileAWorkerStartsLetsItStartThenDrain() throws {
        // The new worker is held at start: its access log is a FIFO with no
        // reader, so it blocks opening it — before any signal handling exists.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("access.fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        var reader = open(fifo, O_RDONLY | O_NONBLOCK)
        let server = try TestServer(config: MasterTests.config(workers: 1).replacingOccurrences(of: "{DIR}/access.log", with: fifo),
                                    files: MasterTests.files)
        try server.start()
        let first = Set(server.workers)
        close(reader)
        server.signal(SIGTTIN)
        try waitUntil("the new worker is forked", timeout: 5) { !Set(ProcFS.children(of: server.pid)).subtracting(first).isEmpty }
        server.signal(SIGQUIT)
        try waitUntil("the master has told the workers to drain", timeout: 5) { server.errorLog.contains("QUIT: draining") }
        // Let it go on: it starts, finds the QUIT waiting, and drains.
        reader = open(fifo, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        try waitUntil("the master exits", timeout: 15) { server.process?.isRunning == false }
        #expect(server.process?.terminationStatus == 0)
        let exits = server.errorLog.split(separator: "\n").filter { $0.contains(" exited (") }
        #expect(exits.count == 2, "\(exits)")
        #expect(exits.allSatisfy { $0.contains("exited (exit code 0)") }, "\(exits)")
    }

    @Test func workersTakeSignalsOnTheirOwnThreadAndStartNoDispatchThreads() throws {
        // libdispatch's worker threads ("-qos.overcommit") log "Failed to set thread
        // priority" at every worker start under the hardened unit: none may exist.
        let server = try start()
        let worker = try #require(server.workers.first)
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(worker)/task")
        let names = tasks.compactMap { try? String(contentsOfFile: "/proc/\(worker)/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .newlines) }
        #expect(names.contains("swerve: signals"), "\(names)")
        #expect(!names.contains { $0.contains("qos") || $0.contains("dispatch") }, "\(names)")
    }
}
