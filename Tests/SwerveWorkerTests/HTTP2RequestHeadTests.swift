import NIOHPACK
import NIOHTTP1
import Testing
import SwerveWorker

/// A request's HEADERS as the HTTP/1-shaped head the shared request path reads.
@Suite struct HTTP2RequestHeadTests {
    private func fields(_ method: String, _ extra: [(String, String)] = []) -> HPACKHeaders {
        HPACKHeaders([(":method", method), (":scheme", "https"), (":authority", "a.test:8443"), (":path", "/x?y=1")] + extra)
    }

    @Test func pseudoHeadersBecomeTheRequestLineAndHost() {
        let head = HTTP2RequestHead.make(fields("GET", [("accept", "*/*")]), endStream: true)
        #expect(head.method == .GET)
        #expect(head.uri == "/x?y=1")
        #expect(head.version == HTTPVersion(major: 2, minor: 0))
        #expect(head.headers.map { $0.name } == ["host", "accept"])
        #expect(head.headers.first(name: "host") == "a.test:8443")
    }

    @Test func aHostFieldNamingTheAuthorityIsFolded() {
        for host in ["a.test:8443", "A.Test:8443"] {
            let head = HTTP2RequestHead.make(fields("GET", [("host", host)]), endStream: true)
            #expect(head.headers[canonicalForm: "host"] == ["a.test:8443"])
            #expect(RequestHeadCheck(head) == .accept(declaredLength: nil, chunked: false, expectsContinue: false))
        }
        // ":443" is the https default: written or not, the same authority.
        let authority443 = HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":authority", "a.test:443"),
                                         (":path", "/"), ("host", "a.test")])
        #expect(HTTP2RequestHead.make(authority443, endStream: true).headers[canonicalForm: "host"] == ["a.test:443"])
    }

    @Test func aHostFieldNamingAnotherAuthorityIsRefused() {
        // RFC 9113 §8.3.1: malformed. Both are kept, so the shared check answers 400.
        for host in ["b.test", "a.test", "a.test:8444"] {
            let head = HTTP2RequestHead.make(fields("GET", [("host", host)]), endStream: true)
            #expect(head.headers[canonicalForm: "host"] == ["a.test:8443", Substring(host)])
            #expect(RequestHeadCheck(head) == .reject(.badRequest, close: true))
        }
    }

    @Test func oneHostFieldNamingAnotherAuthorityIsEnough() {
        for hosts in [["b.test", "a.test:8443"], ["a.test:8443", "b.test"]] {
            let head = HTTP2RequestHead.make(fields("GET", hosts.map { ("host", $0) }), endStream: true)
            #expect(RequestHeadCheck(head) == .reject(.badRequest, close: true), "\(hosts)")
        }
        let same = HTTP2RequestHead.make(fields("GET", [("host", "a.test:8443"), ("host", "A.test:8443")]), endStream: true)
        #expect(same.headers[canonicalForm: "host"] == ["a.test:8443"])
    }

    @Test func aHostFieldAloneIsTheAuthority() {
        let head = HTTP2RequestHead.make(HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":path", "/"),
                                                       ("host", "b.test")]), endStream: true)
        #expect(head.headers[canonicalForm: "host"] == ["b.test"])
    }

    @Test func splitCookiesAreJoined() {
        let head = HTTP2RequestHead.make(fields("GET", [("cookie", "a=1"), ("x", "y"), ("cookie", "b=2")]), endStream: true)
        #expect(head.headers["cookie"] == ["a=1; b=2"])
    }

    @Test func aBodyWithoutLengthIsFramedAsHTTP1WouldBe() {
        let open = HTTP2RequestHead.make(fields("POST"), endStream: false)
        #expect(open.headers.first(name: "transfer-encoding") == "chunked")
        #expect(open.headers.first(name: "content-length") == nil)
        let ended = HTTP2RequestHead.make(fields("POST"), endStream: true)
        #expect(ended.headers.first(name: "content-length") == "0")
        let declared = HTTP2RequestHead.make(fields("PUT", [("content-length", "5")]), endStream: false)
        #expect(declared.headers["content-length"] == ["5"])
        #expect(declared.headers.first(name: "transfer-encoding") == nil)
        let get = HTTP2RequestHead.make(fields("GET"), endStream: false)
        #expect(get.headers.first(name: "transfer-encoding") == nil)
        #expect(get.headers.first(name: "content-length") == nil)
    }

    @Test func theHeadPassesTheSharedChecks() {
        let head = HTTP2RequestHead.make(fields("POST", [("content-length", "5")]), endStream: false)
        #expect(RequestHeadCheck(head) == .accept(declaredLength: 5, chunked: false, expectsContinue: false))
        let connect = HTTP2RequestHead.make(HPACKHeaders([(":method", "CONNECT"), (":authority", "a.test:443")]),
                                            endStream: false)
        #expect(connect.uri == "a.test:443")
        #expect(RequestHeadCheck(connect) == .reject(.badRequest, close: true))
    }
}
