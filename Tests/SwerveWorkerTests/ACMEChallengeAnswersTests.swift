import Foundation
import SwerveWorker
import Testing

/// http-01 answers (RFC 8555 §8.3): only GET, only the challenge path, only
/// a base64url token that has a file; anything else goes on to the routes.
@Suite struct ACMEChallengeAnswersTests {
    @Test func answersOnlyLiveTokens() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-acme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("tok_en-1.thumb".utf8).write(to: folder.appendingPathComponent("tok_en-1"))
        // A real file beside the folder: a token check that let ".." through would serve it.
        let outside = "outside-\(UUID().uuidString)"
        let outsideFile = folder.deletingLastPathComponent().appendingPathComponent(outside)
        try Data("secret".utf8).write(to: outsideFile)
        defer { try? FileManager.default.removeItem(at: outsideFile) }
        let answers = ACMEChallengeAnswers(folder: folder.path)
        #expect(answers.answer(method: "GET", uri: "/.well-known/acme-challenge/tok_en-1") == Array("tok_en-1.thumb".utf8))
        #expect(answers.answer(method: "GET", uri: "/.well-known/acme-challenge/tok_en-1?x=1") == Array("tok_en-1.thumb".utf8))
        #expect(answers.answer(method: "POST", uri: "/.well-known/acme-challenge/tok_en-1") == nil)
        #expect(answers.answer(method: "GET", uri: "/.well-known/acme-challenge/other") == nil)
        #expect(answers.answer(method: "GET", uri: "/.well-known/acme-challenge/../\(outside)") == nil)
        #expect(answers.answer(method: "GET", uri: "/.well-known/acme-challenge/..%2F\(outside)") == nil)
        #expect(answers.answer(method: "GET", uri: "/.well-known/acme-challenge/") == nil)
        #expect(answers.answer(method: "GET", uri: "/index.html") == nil)
    }
}
