import Testing
import SwerveWorker

@Suite struct RouteTableTests {
    let table = RouteTable<String>([
        (prefix: "/", value: "root"),
        (prefix: "/upload", value: "upload"),
        (prefix: "/cgi-bin/", value: "cgi"),
        (prefix: "/static", value: "static"),
        (prefix: "/static/img", value: "img"),
    ])

    @Test(arguments: [
        ("/", "root"),
        ("/index.html", "root"),
        ("/other/deep/path", "root"),
        // longest prefix
        ("/static", "static"),
        ("/static/", "static"),
        ("/static/app.js", "static"),
        ("/static/img", "img"),
        ("/static/img/", "img"),
        ("/static/img/logo.png", "img"),
        ("/static/imgs/logo.png", "static"),
        // segment boundary
        ("/upload", "upload"),
        ("/upload/", "upload"),
        ("/upload/a/b", "upload"),
        ("/uploads", "root"),
        ("/uploads/x", "root"),
        ("/upload-form", "root"),
        ("/upload.html", "root"),
        ("/staticx", "root"),
        // trailing-slash prefix covers the bare folder
        ("/cgi-bin", "cgi"),
        ("/cgi-bin/", "cgi"),
        ("/cgi-bin/test.py", "cgi"),
        ("/cgi-bin/a/b.sh", "cgi"),
        ("/cgi-binx", "root"),
        ("/cgi-bin.txt", "root"),
    ] as [(String, String)])
    func matches(path: String, expected: String) {
        let match = table.match(path)
        #expect(match?.value == expected, "\(path)")
    }

    @Test func matchReportsThePrefix() {
        #expect(table.match("/static/img/a.png")?.prefix == "/static/img")
        #expect(table.match("/cgi-bin")?.prefix == "/cgi-bin/")
        #expect(table.match("/nothing")?.prefix == "/")
    }

    @Test func orderOfDeclarationDoesNotMatter() {
        let reversed = RouteTable<Int>([
            (prefix: "/a/b/c", value: 3),
            (prefix: "/a", value: 1),
            (prefix: "/a/b", value: 2),
        ])
        let forward = RouteTable<Int>([
            (prefix: "/a", value: 1),
            (prefix: "/a/b", value: 2),
            (prefix: "/a/b/c", value: 3),
        ])
        for table in [reversed, forward] {
            #expect(table.match("/a/b/c/d")?.value == 3)
            #expect(table.match("/a/b/cd")?.value == 2)
            #expect(table.match("/a/bc")?.value == 1)
            #expect(table.match("/a")?.value == 1)
        }
    }

    @Test func noRootRouteMeansNoMatch() {
        let table = RouteTable<String>([(prefix: "/api", value: "api"), (prefix: "/files/", value: "files")])
        #expect(table.match("/") == nil)
        #expect(table.match("/apix") == nil)
        #expect(table.match("/file") == nil)
        #expect(table.match("/filesx") == nil)
        #expect(table.match("/api/v1")?.value == "api")
        #expect(table.match("/files")?.value == "files")
    }

    @Test func emptyTable() {
        #expect(RouteTable<Int>([]).match("/") == nil)
    }

    @Test func prefixHelper() {
        #expect(RouteTable<Int>.prefix("/", matches: "/anything"))
        #expect(RouteTable<Int>.prefix("/upload", matches: "/upload"))
        #expect(RouteTable<Int>.prefix("/upload", matches: "/upload/x"))
        #expect(!RouteTable<Int>.prefix("/upload", matches: "/uploads"))
        #expect(RouteTable<Int>.prefix("/cgi-bin/", matches: "/cgi-bin"))
        #expect(!RouteTable<Int>.prefix("/cgi-bin/", matches: "/cgi-bi"))
        #expect(!RouteTable<Int>.prefix("/", matches: ""))
    }
}
