import Foundation
import Glibc

/// A `swerve` process serving a temporary site on a free loopback port,
/// stopped (and reaped) when the test ends. Every wait is a bounded poll.
final class TestServer {
    let folder: URL
    let root: URL
    let port: Int
    let configFile: URL
    private(set) var process: Process?
    private let stderrFile: URL
    private let stdoutFile: URL

    /// `config` is YAML with `{PORT}` and `{ROOT}` placeholders; `files` are written under the root first.
    init(config: String, files: [String: Data] = [:]) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-it-\(UUID().uuidString)")
        root = folder.appendingPathComponent("www")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (path, data) in files {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: file)
        }
        port = try Self.freePort()
        configFile = folder.appendingPathComponent("config.yaml")
        stderrFile = folder.appendingPathComponent("stderr.log")
        stdoutFile = folder.appendingPathComponent("stdout.log")
        let text = config.replacingOccurrences(of: "{PORT}", with: String(port))
            .replacingOccurrences(of: "{ROOT}", with: root.path)
            .replacingOccurrences(of: "{DIR}", with: folder.path)
        try text.write(to: configFile, atomically: true, encoding: .utf8)
    }

    /// A minimal config: one vhost on 127.0.0.1, static route, access log in the folder.
    static func simple(server: String = "", vhost: String = "", route: String = "", files: [String: Data] = [:]) throws -> TestServer {
        try TestServer(config: """
            server:
              workers: 1
            \(server)
            logging:
              access_log: {DIR}/access.log
              error_log: {DIR}/error.log
            vhosts:
              - names: [localhost]
                listen: ["127.0.0.1:{PORT}"]
                root: {ROOT}
            \(vhost)
                routes:
                  - path: /
                    type: static
            \(route)
            """, files: files)
    }

    /// Extra environment for the swerve process (e.g. NOTIFY_SOCKET).
    var environment: [String: String] = [:]
    /// `ulimit -n` for the swerve process and its workers.
    var fileLimit: Int?

    func start() throws {
        let process = Process()
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let fileLimit {
            // exec keeps the pid: the shell becomes swerve, with the lower limit.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(fileLimit) && exec \"$0\" \"$@\"", SwerveBinary.path, "serve", "-c", configFile.path]
        } else {
            process.executableURL = URL(fileURLWithPath: SwerveBinary.path)
            process.arguments = ["serve", "-c", configFile.path]
        }
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        // The master says when its first generation is ready. Probing the port
        // instead would leave connections queued that the worker counts later.
        try waitUntil("swerve's workers are ready", timeout: 20) {
            guard process.isRunning else { throw TestFailure("swerve exited: \(self.stderr)") }
            return (self.errorLog + self.stderr).contains("generation 1 ready")
        }
    }

    var pid: pid_t { process?.processIdentifier ?? -1 }

    /// The master's worker processes right now (children named "swerve: worker").
    var workers: [pid_t] { ProcFS.children(of: pid).filter { ProcFS.name($0) == "swerve: worker" }.sorted() }

    /// Rewrites the config file (then send HUP to apply it).
    func rewriteConfig(_ text: String) throws {
        let resolved = text.replacingOccurrences(of: "{ROOT}", with: root.path).replacingOccurrences(of: "{DIR}", with: folder.path)
            .replacingOccurrences(of: "{PORT}", with: String(port))
        try resolved.write(to: configFile, atomically: true, encoding: .utf8)
    }

    var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }
    var accessLog: String { (try? String(contentsOf: folder.appendingPathComponent("access.log"), encoding: .utf8)) ?? "" }
    var errorLog: String { (try? String(contentsOf: folder.appendingPathComponent("error.log"), encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) {
        if let pid = process?.processIdentifier { kill(pid, number) }
    }

    /// TERM, then KILL if it has not exited within 10 s; always reaped.
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    func connect() throws -> RawConnection { try RawConnection(port: port) }

    /// One request on a fresh connection.
    func get(_ path: String, headers: [String: String] = [:], method: String = "GET") throws -> HTTPTestResponse {
        let connection = try connect()
        var request = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        try connection.send(request + "\r\n")
        return try connection.readResponse(method: method)
    }

    static func freePortForTests() throws -> Int { try freePort() }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds pass.
func waitUntil(_ what: String, timeout: TimeInterval = 10, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(10_000)
    }
    throw TestFailure("timed out after \(timeout)s waiting until \(what)")
}

/// What /proc tells about processes.
enum ProcFS {
    static func name(_ pid: pid_t) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
    }

    static func parent(of pid: pid_t) -> pid_t? {
        statFields(of: pid).flatMap { $0.count > 1 ? pid_t($0[1]) : nil }
    }

    /// The process's state letter (R, S, Z, T…); nil when there is no such process.
    static func state(of pid: pid_t) -> String? {
        statFields(of: pid)?.first.map(String.init)
    }

    /// /proc/PID/stat after the command name (which may hold spaces): state, ppid, …
    private static func statFields(of pid: pid_t) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    static func children(of pid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { parent(of: $0) == pid }
    }

    static func threads(of pid: pid_t) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).count
    }

    /// Sockets a process holds open.
    static func socketCount(of pid: pid_t) -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return fds.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) ?? "").hasPrefix("socket:") }.count
    }
}
