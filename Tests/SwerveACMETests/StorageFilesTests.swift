import Foundation
import Glibc
import Testing
import SwerveACME

/// The helper's writes: a file is replaced whole, and a staged one only
/// when it is committed (the key and chain are staged together, then swapped).
@Suite struct StorageFilesTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)").path

    init() throws { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }

    private func text(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
    private func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test func aStagedFileAppearsOnlyWhenCommitted() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/key.pem"
        try StorageFiles.write(Array("old".utf8), to: path, mode: 0o600)
        let staged = try StorageFiles.stage(Array("new".utf8), for: path, mode: 0o600)
        #expect(text(path) == "old")
        #expect(text(staged.temporary) == "new")
        try StorageFiles.commit(staged)
        #expect(text(path) == "new")
        #expect(try mode(path) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: staged.temporary))
    }

    @Test func aDiscardedStageLeavesTheFileAndNoTemporary() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/fullchain.pem"
        try StorageFiles.write(Array("old".utf8), to: path, mode: 0o644)
        let staged = try StorageFiles.stage(Array("new".utf8), for: path, mode: 0o644)
        StorageFiles.discard(staged)
        #expect(text(path) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["fullchain.pem"])
    }

    @Test func aStageThatCannotBeWrittenSaysWhich() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/missing/key.pem"
        do {
            _ = try StorageFiles.stage(Array("x".utf8), for: path, mode: 0o600)
            Issue.record("a stage in a missing folder succeeded")
        } catch {
            #expect("\(error)".contains(path), "\(error)")
        }
    }
}
