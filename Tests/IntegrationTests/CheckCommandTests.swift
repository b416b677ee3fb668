import Foundation
import Testing

/// `swerve check` and `swerve --version` against the real binary.
@Suite struct CheckCommandTests {
    @Test func versionPrintsNameAndVersion() throws {
        let result = try SwerveBinary.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.range(of: #"^swerve \d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil)
    }

    @Test func shippedConfigIsValid() throws {
        let result = try SwerveBinary.run(["check", "-c", "config/config.yaml"], in: SwerveBinary.repository)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == "config/config.yaml: ok — 1 vhost, 4 routes, listening on 0.0.0.0:8080, [::]:8080\n")
    }

    @Test func defaultConfigPathIsConfigFolderOfWorkingDirectory() throws {
        let result = try SwerveBinary.run(["check"], in: SwerveBinary.repository)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.hasPrefix("config/config.yaml: ok — "))
    }

    @Test func misspelledKeyIsReportedWithPositionAndHint() throws {
        let shipped = try String(contentsOf: SwerveBinary.repository.appendingPathComponent("config/config.yaml"), encoding: .utf8)
        let lines = shipped.components(separatedBy: "\n")
        let index = try #require(lines.firstIndex { $0.contains("max_size:") })
        let column = lines[index].distance(from: lines[index].startIndex, to: lines[index].range(of: "max_size")!.lowerBound) + 1
        let broken = shipped.replacingOccurrences(of: "max_size:", with: "max_sise:")
        // Written beside the shipped config so its relative paths still resolve.
        let file = SwerveBinary.repository.appendingPathComponent("config/.check-test-\(getpid()).yaml")
        try broken.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let result = try SwerveBinary.run(["check", "-c", file.path])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "\(file.path):\(index + 1):\(column): error: unknown key 'max_sise' in an upload route; did you mean 'max_size'?\n")
    }

    @Test func everyErrorIsReportedNotJustTheFirst() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let yaml = """
            server:
              workers: 0
              shutdown_timeout: soon
            vhosts:
              - listen: [70000]
                root: missing
            """
        let file = folder.appendingPathComponent("bad.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let result = try SwerveBinary.run(["check", "-c", file.path])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(lines)")
        #expect(lines.first?.hasPrefix("\(file.path):2:12: error: 'workers' must be between 1 and 1024") == true)
        #expect(lines.contains { $0.hasPrefix("\(file.path):3:21: error: 'shutdown_timeout'") })
        #expect(lines.contains("\(file.path):5:14: error: port 70000 is out of range (1-65535)"))
        #expect(lines.contains("\(file.path):6:11: error: root '\(folder.path)/missing' does not exist"))
    }

    @Test(arguments: [
        ("empty", Data()),
        ("binary", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) })),
        ("tabs", Data("server:\n\tworkers: 2\n".utf8)),
    ])
    func badFilesExitOneWithPositions(name: String, content: Data) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("\(name).yaml")
        try content.write(to: file)
        let result = try SwerveBinary.run(["check", "-c", file.path])
        #expect(result.status == 1)
        #expect(result.stderr.range(of: #"^\#(file.path):\d+:\d+: error: "#, options: .regularExpression) != nil, "\(result.stderr)")
    }

    @Test func unreadableConfigIsAnError() throws {
        let result = try SwerveBinary.run(["check", "-c", "/nonexistent/swerve.yaml"])
        #expect(result.status == 1)
        #expect(result.stderr == "/nonexistent/swerve.yaml:1:1: error: cannot read the config file: No such file or directory\n")
    }

    private func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}
