import Testing
@testable import SwerveWorker

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
}
