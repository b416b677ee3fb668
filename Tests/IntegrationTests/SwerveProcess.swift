import Foundation

/// Runs the built `swerve` binary, the one `swift build` put beside this test bundle.
enum SwerveBinary {
    /// `SWERVE_BINARY` overrides; else the build folder this test runner lives in.
    static var path: String {
        if let override = ProcessInfo.processInfo.environment["SWERVE_BINARY"] { return override }
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = URL(fileURLWithPath: runner).deletingLastPathComponent()
        // The runner may sit inside NAME.xctest/ on some toolchains.
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("swerve").path) {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("swerve").path
    }

    /// The repository root (for config/ and www/).
    static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs swerve to completion with `arguments`, killing it after `timeout` seconds.
    static func run(_ arguments: [String], in directory: URL? = nil, timeout: TimeInterval = 30) throws -> Result {
        try runProgram(path, arguments, in: directory, timeout: timeout)
    }

    /// Runs swerve as `user` (through runuser; the test must be root).
    static func run(asUser user: String, _ arguments: [String], timeout: TimeInterval = 30) throws -> Result {
        try runProgram("/usr/sbin/runuser", ["-u", user, "--", path] + arguments, timeout: timeout)
    }

    /// The backlog of the socket listening on `port`, as `ss -ltn` shows it (Send-Q).
    static func listenBacklog(port: Int) throws -> String? {
        let line = try runProgram("/bin/sh", ["-c", "ss -ltnH 'sport = :\(port)'"]).stdout
        return line.split(whereSeparator: \.isWhitespace).dropFirst(2).first.map(String.init)
    }

    /// Runs any program to completion, killing it after `timeout` seconds.
    static func runProgram(_ executable: String, _ arguments: [String], in directory: URL? = nil,
                           timeout: TimeInterval = 30) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes before waiting so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = group.wait(timeout: .now() + 5)
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
