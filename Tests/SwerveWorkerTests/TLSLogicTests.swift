import NIOCore
import SwerveWorker
import Testing

/// The pure parts of HTTPS: redirect_http's Location, and telling plain
/// HTTP from TLS on a TLS port.
@Suite struct TLSLogicTests {
    @Test(arguments: [
        ("a.test", 443, "/p?q=1", "https://a.test/p?q=1"),
        ("a.test", 8443, "/", "https://a.test:8443/"),
        ("[::1]", 8443, "/x", "https://[::1]:8443/x"),
        ("a.test", 443, "http://a.test/abs?x", "https://a.test/abs?x"),
        ("a.test", 443, "http://a.test?x", "https://a.test/?x"),
        ("a.test", 443, "*", "https://a.test/"),
    ])
    func redirectLocation(host: String, port: Int, uri: String, expected: String) {
        #expect(HTTPSRedirect.location(host: host, port: port, uri: uri) == expected)
    }

    @Test func plainHTTPIsToldFromOtherBytes() {
        #expect(FirstBytes.looksLikeHTTP(ByteBuffer(string: "GET / HTTP/1.1\r\n")))
        #expect(FirstBytes.looksLikeHTTP(ByteBuffer(string: "PRI * HTTP/2.0\r\n")))
        #expect(FirstBytes.looksLikeHTTP(ByteBuffer(string: "POST")))
        #expect(!FirstBytes.looksLikeHTTP(ByteBuffer(bytes: [1, 2, 3, 4])))
        #expect(!FirstBytes.looksLikeHTTP(ByteBuffer(string: "get / HTTP/1.1")))
        #expect(!FirstBytes.looksLikeHTTP(ByteBuffer(string: " GET")))
    }
}
