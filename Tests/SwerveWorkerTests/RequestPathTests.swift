import Testing
import SwerveWorker

@Suite struct RequestPathTests {
    @Test(arguments: [
        ("/", "/", nil),
        ("/a/b/../c", "/a/c", nil),
        ("/a/./b//c/", "/a/b/c/", nil),
        ("/a%20b?x=1&y", "/a b", "x=1&y"),
        ("/%2e%2e%2fetc", nil, nil),
        ("http://example.com/x/y?q", "/x/y", "q"),
    ] as [(String, String?, String?)])
    func parses(target: String, path: String?, query: String?) {
        let parsed = RequestPath(target: target)
        #expect(parsed?.path == path)
        if path != nil { #expect(parsed?.query == query) }
    }

    // MARK: traversal

    @Test(arguments: [
        "/..",
        "/../",
        "/../etc/passwd",
        "/a/../../etc/passwd",
        "/a/b/../../..",
        "/./..",
        "//..//etc",
    ])
    func dotDotAboveRootIsRefused(target: String) {
        #expect(RequestPath(target: target) == nil)
    }

    @Test(arguments: [
        "/%2e%2e/etc/passwd",
        "/%2E%2E/etc/passwd",
        "/%2e./etc",
        "/.%2e/etc",
        "/a/%2e%2e/%2e%2e/etc",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/a%2f..%2f..%2fetc",
        "/a%2F%2E%2E%2F%2E%2E",
    ])
    func encodedDotDotAboveRootIsRefused(target: String) {
        #expect(RequestPath(target: target) == nil)
    }

    @Test(arguments: [
        ("/a/%2e%2e/b", "/a/../b → /b", "/b"),
        ("/a/b/%2E%2E/c", "upper-case escape", "/a/c"),
        ("/a/%2e/b", "encoded single dot", "/a/b"),
        ("/a%2fb", "%2f decodes to a separator", "/a/b"),
        ("/a%2Fb%2F", "%2F keeps a trailing slash", "/a/b/"),
        ("/a/b%2f..%2fc", "encoded traversal inside the root", "/a/c"),
    ] as [(String, String, String)])
    func encodedSegmentsAreNormalisedInsideRoot(target: String, _ why: String, expected: String) {
        #expect(RequestPath(target: target)?.path == expected, "\(why)")
    }

    // MARK: bad bytes

    @Test(arguments: [
        "/a%00b",
        "/%00",
        "/a/%00/b",
        "/index.html%00.png",
    ])
    func nulIsRefused(target: String) {
        #expect(RequestPath(target: target) == nil)
    }

    @Test(arguments: [
        "/%zz",
        "/a%g0",
        "/a%0g",
        "/a%",
        "/a%4",
        "/%%41",
        "/a% 41",
    ])
    func badEscapesAreRefused(target: String) {
        #expect(RequestPath(target: target) == nil)
    }

    @Test(arguments: [
        "/%ff",
        "/%c3",          // truncated two-byte sequence
        "/%c3%28",       // bad continuation
        "/%80",          // lone continuation byte
        "/%c0%af",       // overlong "/"
        "/%ed%a0%80",    // UTF-16 surrogate
        "/%f8%88%80%80%80",
    ])
    func invalidUTF8IsRefused(target: String) {
        #expect(RequestPath(target: target) == nil)
    }

    @Test func validUTF8IsDecoded() {
        #expect(RequestPath(target: "/caf%C3%A9/%E2%82%AC.txt")?.path == "/café/€.txt")
        #expect(RequestPath(target: "/caf%c3%a9")?.path == "/café")
        #expect(RequestPath(target: "/%F0%9F%98%80")?.path == "/😀")
    }

    @Test func literalNonASCIIIsKept() {
        #expect(RequestPath(target: "/café")?.path == "/café")
    }

    @Test func encodedQuestionMarkStaysInPath() {
        let parsed = RequestPath(target: "/a%3Fb?c=d")
        #expect(parsed?.path == "/a?b")
        #expect(parsed?.query == "c=d")
    }

    // MARK: form

    @Test(arguments: ["", "a/b", "*", "index.html", "%2fetc"])
    func targetsWithoutLeadingSlashAreRefused(target: String) {
        #expect(RequestPath(target: target) == nil)
    }

    @Test func absoluteFormHTTPS() {
        let parsed = RequestPath(target: "https://example.com:8443/a/../b/?x")
        #expect(parsed?.path == "/b/")
        #expect(parsed?.query == "x")
    }

    /// RFC 9110 §4.2.3 / RFC 3986 §3.1: the scheme is case-insensitive.
    @Test func absoluteFormSchemeIsCaseInsensitive() {
        #expect(RequestPath(target: "HTTP://example.com/x")?.path == "/x")
        #expect(RequestPath(target: "Https://example.com/y?q")?.path == "/y")
    }

    // MARK: trailing slash

    @Test(arguments: [
        ("/a/", "/a/"),
        ("/a/b/", "/a/b/"),
        ("/a//", "/a/"),
        ("/a/.", "/a/"),
        ("/a/b/..", "/a/"),
        ("/a/b/../", "/a/"),
        ("/a", "/a"),
        ("/a/b", "/a/b"),
        ("//", "/"),
        ("/.", "/"),
        ("/./", "/"),
        ("/a/..", "/"),
        ("///a///b", "/a/b"),
    ] as [(String, String)])
    func trailingSlashIsKept(target: String, expected: String) {
        #expect(RequestPath(target: target)?.path == expected)
    }

    // MARK: query

    @Test(arguments: [
        ("/a", nil),
        ("/a?", ""),
        ("/a?x=1", "x=1"),
        ("/a?x=1?y=2", "x=1?y=2"),
        ("/a?x=%zz%00", "x=%zz%00"),
        ("/?", ""),
    ] as [(String, String?)])
    func queryIsRawAndNotValidated(target: String, query: String?) {
        let parsed = RequestPath(target: target)
        #expect(parsed != nil)
        #expect(parsed?.query == query)
    }

    @Test func queryDoesNotAffectPathNormalisation() {
        #expect(RequestPath(target: "/a/?../../x")?.path == "/a/")
        #expect(RequestPath(target: "/a/?../../x")?.query == "../../x")
    }

    // MARK: dot segments

    @Test(arguments: [
        ("/.git/config", true),
        ("/.env", true),
        ("/a/.htpasswd", true),
        ("/a/.ssh/id_rsa", true),
        ("/a/b/.hidden/", true),
        ("/...", true),
        ("/%2egit/HEAD", true),
        ("/.well-known/acme-challenge/token", false),
        ("/.well-known/security.txt", false),
        ("/.well-known/", false),
        ("/.well-known", false),
        ("/.well-known/.secret", true),
        ("/a/.well-known/x", true),
        ("/.well-knownx/y", true),
        ("/.Well-Known/x", true),
        ("/a.b/c.d", false),
        ("/file.", false),
        ("/", false),
        ("/a/b/c.txt", false),
    ] as [(String, Bool)])
    func hasDotSegment(target: String, expected: Bool) throws {
        let parsed = try #require(RequestPath(target: target))
        #expect(parsed.hasDotSegment == expected, "\(parsed.path)")
    }

    // MARK: helpers

    @Test func percentDecodeDirectly() {
        #expect(RequestPath.percentDecode("a%41%62c") == "aAbc")
        #expect(RequestPath.percentDecode("") == "")
        #expect(RequestPath.percentDecode("%") == nil)
        #expect(RequestPath.percentDecode("%00") == nil)
        #expect(RequestPath.percentDecode("%fe") == nil)
    }

    @Test func normaliseDirectly() {
        #expect(RequestPath.normalise("/") == "/")
        #expect(RequestPath.normalise("/a/b/../../c/") == "/c/")
        #expect(RequestPath.normalise("/a/../..") == nil)
        #expect(RequestPath.normalise("/..a/b..") == "/..a/b..")
    }
}
