import NIOHTTP1
import Testing
import SwerveWorker

/// Response headers as HTTP/2 fields (RFC 9113 §8.2), and the protocol as
/// the access log writes it.
@Suite struct HTTP2FieldsTests {
    @Test(arguments: ["Connection", "keep-alive", "Transfer-Encoding", "UPGRADE", "Proxy-Connection"])
    func hopByHopHeadersAreDropped(name: String) {
        #expect(HTTP2Fields.isConnectionSpecific(name))
    }

    @Test(arguments: ["Content-Length", "ETag", "Location", "Cache-Control", "Content-Type", "Server"])
    func endToEndHeadersStay(name: String) {
        #expect(!HTTP2Fields.isConnectionSpecific(name))
    }

    @Test func namesAreLowerCased() {
        #expect(HTTP2Fields.lowercased("Content-Type") == "content-type")
        #expect(HTTP2Fields.lowercased("etag") == "etag")
        #expect(HTTP2Fields.lowercased("X-Ünïcode") == "x-ünïcode")
    }

    @Test func statusCodes() {
        #expect(HTTP2Fields.statusText(.ok) == "200")
        #expect(HTTP2Fields.statusText(.notModified) == "304")
        #expect(HTTP2Fields.statusText(HTTPResponseStatus(statusCode: 418)) == "418")
    }

    @Test func preparedHeadersCarryTheirHTTP2Fields() {
        let prepared = PreparedHeaders(["ETag": "\"x\"", "Connection": "close", "Content-Length": "5"])
        #expect(prepared.http2.map(\.0) == ["etag", "content-length"])
        #expect(prepared.http2.map(\.1) == ["\"x\"", "5"])
    }

    @Test func accessLogVersions() {
        #expect(WorkerContext.versionText(.http1_0) == "HTTP/1.0")
        #expect(WorkerContext.versionText(.http1_1) == "HTTP/1.1")
        #expect(WorkerContext.versionText(HTTPVersion(major: 2, minor: 0)) == "HTTP/2.0")
    }
}
