import NIOHTTP1
import Testing
import SwerveWorker

@Suite struct RequestHeadCheckTests {
    private func check(_ headers: [(String, String)], version: HTTPVersion = .http1_1,
                       method: HTTPMethod = .GET) -> RequestHeadCheck {
        RequestHeadCheck(HTTPRequestHead(version: version, method: method, uri: "/", headers: HTTPHeaders(headers)))
    }

    private func status(_ result: RequestHeadCheck) -> HTTPResponseStatus? {
        if case .reject(let status, _) = result { return status }
        return nil
    }

    // MARK: accept

    @Test func normalGetIsAccepted() {
        #expect(check([("Host", "example.com")]) == .accept(declaredLength: nil, chunked: false, expectsContinue: false))
    }

    @Test func normalGetWithManyHeadersIsAccepted() {
        let result = check([("Host", "example.com"), ("User-Agent", "curl/8.0"), ("Accept", "*/*"),
                            ("Connection", "keep-alive")])
        #expect(result == .accept(declaredLength: nil, chunked: false, expectsContinue: false))
    }

    @Test func http10WithoutHostIsAccepted() {
        #expect(check([], version: .http1_0) == .accept(declaredLength: nil, chunked: false, expectsContinue: false))
    }

    @Test func emptyHostIsAccepted() {
        // RFC 9112 §3.2: an empty Host is sent when the target URI has no authority.
        #expect(check([("Host", "")]) == .accept(declaredLength: nil, chunked: false, expectsContinue: false))
    }

    @Test func postWithContentLength() {
        #expect(check([("Host", "h"), ("Content-Length", "42")], method: .POST)
            == .accept(declaredLength: 42, chunked: false, expectsContinue: false))
    }

    @Test func zeroContentLength() {
        #expect(check([("Host", "h"), ("Content-Length", "0")], method: .POST)
            == .accept(declaredLength: 0, chunked: false, expectsContinue: false))
    }

    @Test func contentLengthWithSurroundingSpaces() {
        #expect(check([("Host", "h"), ("Content-Length", " 7 ")], method: .POST)
            == .accept(declaredLength: 7, chunked: false, expectsContinue: false))
    }

    @Test func chunkedPost() {
        #expect(check([("Host", "h"), ("Transfer-Encoding", "chunked")], method: .POST)
            == .accept(declaredLength: nil, chunked: true, expectsContinue: false))
    }

    // MARK: Host

    @Test func http11WithoutHostIs400AndClose() {
        #expect(check([]) == .reject(.badRequest, close: true))
        #expect(check([("User-Agent", "x")]) == .reject(.badRequest, close: true))
    }

    @Test func twoHostsAre400() {
        #expect(status(check([("Host", "a"), ("Host", "b")])) == .badRequest)
        #expect(status(check([("Host", "a"), ("Host", "a")])) == .badRequest)
        #expect(status(check([("Host", "a"), ("Host", "b")], version: .http1_0)) == .badRequest)
    }

    @Test func hostHeaderNameIsCaseInsensitive() {
        #expect(check([("HOST", "a")]) == .accept(declaredLength: nil, chunked: false, expectsContinue: false))
        #expect(status(check([("host", "a"), ("HoSt", "b")])) == .badRequest)
    }

    // MARK: framing

    @Test func contentLengthAndTransferEncodingIs400AndClose() {
        #expect(check([("Host", "h"), ("Content-Length", "5"), ("Transfer-Encoding", "chunked")], method: .POST)
            == .reject(.badRequest, close: true))
        #expect(check([("Host", "h"), ("Transfer-Encoding", "chunked"), ("Content-Length", "0")], method: .POST)
            == .reject(.badRequest, close: true))
        #expect(check([("Content-Length", "5"), ("Transfer-Encoding", "chunked")], version: .http1_0, method: .POST)
            == .reject(.badRequest, close: true))
    }

    @Test func differingContentLengthsAre400() {
        #expect(status(check([("Host", "h"), ("Content-Length", "5"), ("Content-Length", "6")], method: .POST))
            == .badRequest)
        #expect(status(check([("Host", "h"), ("Content-Length", "5, 6")], method: .POST)) == .badRequest)
        #expect(status(check([("Host", "h"), ("Content-Length", "5,5"), ("Content-Length", "6")], method: .POST))
            == .badRequest)
    }

    @Test func repeatedEqualContentLengthIsAccepted() {
        // RFC 9112 §6.3: a list of identical values may be treated as that one value.
        #expect(check([("Host", "h"), ("Content-Length", "1,1")], method: .POST)
            == .accept(declaredLength: 1, chunked: false, expectsContinue: false))
        #expect(check([("Host", "h"), ("Content-Length", "1, 1")], method: .POST)
            == .accept(declaredLength: 1, chunked: false, expectsContinue: false))
        #expect(check([("Host", "h"), ("Content-Length", "3"), ("Content-Length", "3")], method: .POST)
            == .accept(declaredLength: 3, chunked: false, expectsContinue: false))
    }

    @Test(arguments: ["-1", "-0", "+5", "abc", "5a", "0x10", "1.5", "", " ", ",", "5 5",
                      "99999999999999999999999"])
    func badContentLengthIs400(value: String) {
        #expect(status(check([("Host", "h"), ("Content-Length", value)], method: .POST)) == .badRequest)
    }

    // MARK: Expect

    @Test func expect100ContinueOnHTTP11() {
        #expect(check([("Host", "h"), ("Content-Length", "10"), ("Expect", "100-continue")], method: .POST)
            == .accept(declaredLength: 10, chunked: false, expectsContinue: true))
        #expect(check([("Host", "h"), ("Transfer-Encoding", "chunked"), ("Expect", "100-Continue")], method: .POST)
            == .accept(declaredLength: nil, chunked: true, expectsContinue: true))
        #expect(check([("Host", "h"), ("Content-Length", "1"), ("Expect", " 100-CONTINUE ")], method: .POST)
            == .accept(declaredLength: 1, chunked: false, expectsContinue: true))
    }

    @Test(arguments: ["200-ok", "100-continue-please", "foo", "", "100"])
    func otherExpectationIs417(value: String) {
        #expect(status(check([("Host", "h"), ("Content-Length", "1"), ("Expect", value)], method: .POST))
            == .expectationFailed)
    }

    @Test func twoExpectHeadersAre417() {
        #expect(status(check([("Host", "h"), ("Expect", "100-continue"), ("Expect", "foo")], method: .POST))
            == .expectationFailed)
    }

    @Test func http10WithExpectGetsNoContinue() {
        #expect(check([("Content-Length", "10"), ("Expect", "100-continue")], version: .http1_0, method: .POST)
            == .accept(declaredLength: 10, chunked: false, expectsContinue: false))
    }

    // MARK: version

    /// HTTP/2.0 heads come from h2 streams (NIOHTTP2's codec, which puts
    /// `:authority` in Host); an HTTP/1 connection's decoder never makes one.
    @Test func http20HeadsFromStreamsPass() {
        #expect(check([("Host", "h")], version: .http2) == .accept(declaredLength: nil, chunked: false, expectsContinue: false))
        #expect(status(check([("Host", "h"), ("Host", "i")], version: .http2)) == .badRequest)
    }

    @Test func otherMajorVersionsAre505() {
        #expect(status(check([("Host", "h")], version: HTTPVersion(major: 0, minor: 9))) == .httpVersionNotSupported)
        #expect(status(check([("Host", "h")], version: HTTPVersion(major: 2, minor: 1))) == .httpVersionNotSupported)
        #expect(status(check([("Host", "h")], version: HTTPVersion(major: 3, minor: 0))) == .httpVersionNotSupported)
    }

    @Test func versionIsCheckedBeforeHost() {
        #expect(status(check([], version: HTTPVersion(major: 3, minor: 0))) == .httpVersionNotSupported)
    }

    // MARK: hasBody

    @Test func hasBody() {
        #expect(RequestHeadCheck.hasBody(declaredLength: nil, chunked: false) == false)
        #expect(RequestHeadCheck.hasBody(declaredLength: 0, chunked: false) == false)
        #expect(RequestHeadCheck.hasBody(declaredLength: 1, chunked: false) == true)
        #expect(RequestHeadCheck.hasBody(declaredLength: nil, chunked: true) == true)
    }
}

/// Hostile heads (issue 13): codings, CONNECT, Host syntax, the request line's size.
@Suite struct RequestHeadHardeningTests {
    private func check(_ headers: [(String, String)], method: HTTPMethod = .GET, uri: String = "/",
                       maxHeadSize: Int = .max) -> RequestHeadCheck {
        RequestHeadCheck(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers)),
                         maxHeadSize: maxHeadSize)
    }

    @Test func onlyChunkedIsATransferCoding() {
        #expect(check([("Host", "h"), ("Transfer-Encoding", "gzip, chunked")], method: .POST) == .reject(.notImplemented, close: true))
        #expect(check([("Host", "h"), ("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], method: .POST)
            == .reject(.notImplemented, close: true))
        #expect(check([("Host", "h"), ("Transfer-Encoding", " Chunked ")], method: .POST)
            == .accept(declaredLength: nil, chunked: true, expectsContinue: false))
    }

    @Test func connectIsRefusedWithAClose() {
        #expect(check([("Host", "example.com:443")], method: .CONNECT, uri: "example.com:443") == .reject(.badRequest, close: true))
    }

    @Test(arguments: ["localhost", "example.com", "example.com.", "a-b.c_d", "127.0.0.1:8080", "[::1]", "[::1]:443",
                      "xn--bcher-kva.example", "", "h:"])
    func validHosts(host: String) {
        #expect(RequestHeadCheck.isValidHost(host), "\(host)")
    }

    @Test(arguments: ["a/b", "..", ".a", "a..b", "a b", "a\\b", "[::1", "[zz]", "h:80x", "h:123456", ":80", "[::1]x", "a@b", "[]", "[::1]:x"])
    func invalidHosts(host: String) {
        #expect(!RequestHeadCheck.isValidHost(host), "\(host)")
    }

    @Test func theRequestLineCountsTowardsTheHeadSize() {
        // "GET /x HTTP/1.1\r\n" (17) + "Host: h\r\n" (9) = 26 bytes.
        #expect(check([("Host", "h")], uri: "/x", maxHeadSize: 26) == .accept(declaredLength: nil, chunked: false, expectsContinue: false))
        #expect(check([("Host", "h")], uri: "/x", maxHeadSize: 25) == .reject(.requestHeaderFieldsTooLarge, close: true))
    }
}
