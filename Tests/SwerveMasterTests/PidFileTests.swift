import Foundation
import Testing
import SwerveMaster

@Suite struct PidFileTests {
    private let path = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-pid-\(UUID().uuidString)").path

    @Test func writeThenReadRoundTrips() throws {
        defer { unlink(path) }
        try PidFile.write(4242, to: path)
        #expect(try PidFile.read(path) == 4242)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "4242\n")
    }

    @Test func missingFileIsCannotRead() {
        #expect(throws: PidFile.Failure.cannotRead(path: path, reason: "No such file or directory")) {
            try PidFile.read(path)
        }
    }

    @Test func garbageIsMalformed() throws {
        defer { unlink(path) }
        try "not a pid\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: PidFile.Failure.malformed(path: path)) { try PidFile.read(path) }
    }

    @Test func removeLeavesAFileOwnedByAnotherMaster() throws {
        defer { unlink(path) }
        try PidFile.write(4242, to: path)
        PidFile.remove(path, ifOwnedBy: 1)
        #expect(FileManager.default.fileExists(atPath: path))
        PidFile.remove(path, ifOwnedBy: 4242)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
