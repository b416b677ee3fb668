import Foundation
import Glibc
import Testing

/// The worker's own signals, sent to `swerve serve` (one in-process worker
/// until the master lands): TERM flushes the access log, USR1 reopens it.
@Suite struct WorkerSignalTests {
    @Test func termFlushesTheAccessLogBeforeExit() throws {
        let server = try TestServer.simple(files: ["a.txt": Data("alpha".utf8)])
        try server.start()
        #expect(try server.get("/a.txt").status == 200)
        server.signal(SIGTERM)
        try waitUntil("swerve exits", timeout: 10) { server.process?.isRunning == false }
        #expect(server.process?.terminationStatus == 0)
        #expect(server.accessLog.contains("\"GET /a.txt HTTP/1.1\" 200 5"))
    }

    @Test func usr1ReopensTheErrorLogInMasterAndWorkers() throws {
        let server = try TestServer.simple(files: ["a.txt": Data("alpha".utf8)])
        try server.start()
        let log = server.folder.appendingPathComponent("error.log")
        try FileManager.default.moveItem(at: log, to: server.folder.appendingPathComponent("error.log.1"))
        server.signal(SIGUSR1)
        try waitUntil("the master writes to a new error.log", timeout: 15) { server.errorLog.contains("USR1: logs reopened") }
        let worker = try #require(server.workers.first)
        try waitUntil("the worker writes to the new file too", timeout: 15) { server.errorLog.contains("[\(worker)] worker reopened its logs") }
    }

    @Test func theMastersSignalsDoNotHurtAWorker() throws {
        let server = try TestServer.simple(files: ["a.txt": Data("alpha".utf8)])
        try server.start()
        let worker = try #require(server.workers.first)
        for number in [SIGHUP, SIGTTIN, SIGTTOU, SIGUSR2, SIGWINCH] { kill(worker, number) }
        #expect(try server.get("/a.txt").status == 200)
        let state = ProcFS.state(of: worker)
        #expect(state == "S" || state == "R", "worker state \(String(describing: state))")
        #expect(server.workers == [worker])
        #expect(!server.errorLog.contains("died unexpectedly"))
    }

    @Test func usr1ReopensTheAccessLog() throws {
        let server = try TestServer.simple(files: ["a.txt": Data("alpha".utf8)])
        try server.start()
        #expect(try server.get("/a.txt?before").status == 200)
        try waitUntil("the first line is flushed", timeout: 15) { server.accessLog.contains("?before") }
        let log = server.folder.appendingPathComponent("access.log")
        let rotated = server.folder.appendingPathComponent("access.log.1")
        try FileManager.default.moveItem(at: log, to: rotated)
        server.signal(SIGUSR1)
        try waitUntil("a new access.log is opened", timeout: 15) { FileManager.default.fileExists(atPath: log.path) }
        #expect(try server.get("/a.txt?after").status == 200)
        try waitUntil("the second line lands in the new file", timeout: 15) { server.accessLog.contains("?after") }
        let old = try String(contentsOf: rotated, encoding: .utf8)
        #expect(old.contains("?before") && !old.contains("?after"))
    }
}
