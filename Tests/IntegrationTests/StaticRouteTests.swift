import Foundation
import Glibc
import Testing

/// SPEC §4.1 against the real binary: files, directories, traversal,
/// conditional requests, ranges, precompressed siblings, error pages.
@Suite struct StaticRouteTests {
    static let index = Data("<h1>hello</h1>\n".utf8)
    static let files: [String: Data] = [
        "index.html": index,
        "style.css": Data("body{}".utf8),
        "photo.png": Data([0x89, 0x50, 0x4E, 0x47]),
        "docs/index.html": Data("docs".utf8),
        "open/a.txt": Data("a".utf8),
        "open/<b>&.txt": Data("b".utf8),
        "bare/nothing.txt": Data("x".utf8),
        ".secret": Data("secret".utf8),
        "big.bin": Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }),
        "app.js": Data("console.log(1)".utf8),
        "app.js.gz": Data("gzipped".utf8),
        "errors/404.html": Data("custom not found".utf8),
    ]

    private func server(route: String = "", vhost: String = "") throws -> TestServer {
        let server = try TestServer.simple(vhost: vhost, route: route, files: Self.files)
        try server.start()
        return server
    }

    @Test func servesAFileWithValidatorsAndType() throws {
        let server = try server()
        let response = try server.get("/index.html")
        #expect(response.status == 200)
        #expect(response.body == Array(Self.index))
        #expect(response.header("content-type") == "text/html; charset=utf-8")
        #expect(response.header("content-length") == String(Self.index.count))
        #expect(response.header("accept-ranges") == "bytes")
        #expect(response.header("etag")?.hasPrefix("\"") == true)
        #expect(response.header("last-modified")?.hasSuffix(" GMT") == true)
        #expect(response.header("server") == "swerve")
        #expect(response.header("date")?.hasSuffix(" GMT") == true)
        #expect(try server.get("/style.css").header("content-type") == "text/css; charset=utf-8")
        #expect(try server.get("/photo.png").header("content-type") == "image/png")
    }

    @Test func headHasHeadersButNoBody() throws {
        let server = try server()
        let connection = try server.connect()
        try connection.send("HEAD /index.html HTTP/1.1\r\nHost: localhost\r\n\r\nGET /style.css HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let head = try connection.readResponse(method: "HEAD")
        #expect(head.status == 200)
        #expect(head.header("content-length") == String(Self.index.count))
        // The next response starts right after the head: no body bytes were sent.
        let next = try connection.readResponse()
        #expect(next.status == 200)
        #expect(next.text == "body{}")
    }

    @Test func otherMethodsGet405WithAllow() throws {
        let server = try server()
        let response = try server.get("/index.html", method: "DELETE")
        #expect(response.status == 405)
        #expect(response.header("allow") == "GET, HEAD")
    }

    @Test(arguments: [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "/%2E%2E%2F%2E%2E%2Fetc/passwd",
        "/index.html%00.png",
        "/./.././../etc/passwd",
    ])
    func traversalNeverLeavesTheRoot(target: String) throws {
        let server = try server()
        let connection = try server.connect()
        try connection.send("GET \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let response = try connection.readResponse()
        #expect([400, 404].contains(response.status), "\(target) → \(response.statusLine)")
        #expect(!response.text.contains("root:"))
    }

    @Test func symlinkLeavingTheRootIsNotFollowed() throws {
        let server = try server()
        try FileManager.default.createSymbolicLink(atPath: server.root.appendingPathComponent("passwd").path,
                                                   withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: server.root.appendingPathComponent("etc").path,
                                                   withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: server.root.appendingPathComponent("inside.css").path,
                                                   withDestinationPath: server.root.appendingPathComponent("style.css").path)
        #expect(try server.get("/passwd").status == 404)
        #expect(try server.get("/etc/passwd").status == 404)
        #expect(try server.get("/inside.css").status == 200)
    }

    @Test func dotfilesAreNotFound() throws {
        let server = try server()
        #expect(try server.get("/.secret").status == 404)
        #expect(try server.get("/%2esecret").status == 404)
    }

    @Test func directoriesRedirectThenServeIndexOrRefuse() throws {
        let server = try server()
        let redirect = try server.get("/docs?x=1")
        #expect(redirect.status == 301)
        #expect(redirect.header("location") == "/docs/?x=1")
        let index = try server.get("/docs/")
        #expect(index.status == 200)
        #expect(index.text == "docs")
        #expect(try server.get("/bare/").status == 403)
        #expect(try server.get("/").text == String(decoding: Self.index, as: UTF8.self))
    }

    @Test func autoindexListsEscapedNames() throws {
        let server = try server(route: "        autoindex: true")
        let listing = try server.get("/open/")
        #expect(listing.status == 200)
        #expect(listing.header("content-type") == "text/html; charset=utf-8")
        #expect(listing.text.contains("<a href=\"a.txt\">a.txt</a>"))
        #expect(listing.text.contains("&lt;b&gt;&amp;.txt"))
        #expect(!listing.text.contains("<b>&"))
    }

    @Test func conditionalRequestsGet304() throws {
        let server = try server()
        let first = try server.get("/index.html")
        let etag = try #require(first.header("etag"))
        let modified = try #require(first.header("last-modified"))
        let byTag = try server.get("/index.html", headers: ["If-None-Match": etag])
        #expect(byTag.status == 304)
        #expect(byTag.body.isEmpty)
        #expect(byTag.header("etag") == etag)
        #expect(try server.get("/index.html", headers: ["If-None-Match": "W/\(etag), \"other\""]).status == 304)
        #expect(try server.get("/index.html", headers: ["If-None-Match": "\"other\""]).status == 200)
        #expect(try server.get("/index.html", headers: ["If-Modified-Since": modified]).status == 304)
        #expect(try server.get("/index.html", headers: ["If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"]).status == 200)
    }

    @Test func rangesGive206Or416() throws {
        let server = try server()
        let partial = try server.get("/big.bin", headers: ["Range": "bytes=10-19"])
        #expect(partial.status == 206)
        #expect(partial.header("content-range") == "bytes 10-19/3000000")
        #expect(partial.body == (10..<20).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let suffix = try server.get("/big.bin", headers: ["Range": "bytes=-5"])
        #expect(suffix.header("content-range") == "bytes 2999995-2999999/3000000")
        let unsatisfiable = try server.get("/big.bin", headers: ["Range": "bytes=3000000-"])
        #expect(unsatisfiable.status == 416)
        #expect(unsatisfiable.header("content-range") == "bytes */3000000")
        let etag = try #require(partial.header("etag"))
        #expect(try server.get("/big.bin", headers: ["Range": "bytes=0-0", "If-Range": etag]).status == 206)
        let stale = try server.get("/big.bin", headers: ["Range": "bytes=0-0", "If-Range": "\"stale\""])
        #expect(stale.status == 200)
        #expect(stale.body.count == 3_000_000)
    }

    @Test func largeFileArrivesWhole() throws {
        let server = try server()
        let response = try server.get("/big.bin")
        #expect(response.status == 200)
        #expect(response.body == Array(Self.files["big.bin"]!))
    }

    @Test func precompressedSiblingIsServedWhenAccepted() throws {
        let server = try server(route: "        precompressed: true\n        cache_control: max-age=60")
        let gzip = try server.get("/app.js", headers: ["Accept-Encoding": "br, gzip"])
        #expect(gzip.status == 200)
        #expect(gzip.text == "gzipped")
        #expect(gzip.header("content-encoding") == "gzip")
        #expect(gzip.header("content-type") == "text/javascript; charset=utf-8")
        #expect(gzip.header("vary") == "Accept-Encoding")
        #expect(gzip.header("cache-control") == "max-age=60")
        let plain = try server.get("/app.js", headers: ["Accept-Encoding": "gzip;q=0"])
        #expect(plain.text == "console.log(1)")
        #expect(plain.header("content-encoding") == nil)
    }

    @Test func errorPagesReplaceTheBuiltInBody() throws {
        let server = try server(vhost: "    error_pages: { 404: /errors/404.html }")
        let missing = try server.get("/missing")
        #expect(missing.status == 404)
        #expect(missing.text == "custom not found")
    }
}
