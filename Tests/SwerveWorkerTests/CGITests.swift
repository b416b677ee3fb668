import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import SwerveConfig
import Testing
import SwerveWorker

@Suite struct CGIHeaderParserTests {
    private func parse(_ text: String, limit: Int = 64 * 1024) -> CGIHeaderParser.Outcome {
        var parser = CGIHeaderParser(limit: limit)
        return parser.feed(ByteBuffer(string: text))
    }

    private func parseHead(_ text: String) throws -> (CGIResponseHead, String) {
        guard case .head(let head, let body) = parse(text) else {
            throw TestError("not a head: \(parse(text)) for \(text.debugDescription)")
        }
        return (head, String(buffer: body))
    }

    @Test func documentWithHeadersAndBody() throws {
        let (head, body) = try parseHead("Content-Type: text/html\r\nX-One: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n<p>hi</p>")
        #expect(head.kind == .document)
        #expect(head.status == 200)
        #expect(head.headers.map(\.name) == ["Content-Type", "X-One", "Set-Cookie", "Set-Cookie"])
        #expect(head.headers.map(\.value) == ["text/html", "1", "a=1", "b=2"])
        #expect(body == "<p>hi</p>")
    }

    @Test func bareLineFeedsAndValueWhitespace() throws {
        let (head, body) = try parseHead("Content-Type:text/plain  \nX-Tab:\t spaced value\t\n\nbody\n")
        #expect(head.headers.map(\.value) == ["text/plain", "spaced value"])
        #expect(body == "body\n")
    }

    @Test func statusLine() throws {
        let (created, _) = try parseHead("Status: 201 Created\nContent-Type: text/plain\n\n")
        #expect(created.status == 201 && created.reason == "Created")
        #expect(!created.headers.contains { $0.name.lowercased() == "status" })
        let (bare, _) = try parseHead("status: 404\n\n")
        #expect(bare.status == 404 && bare.reason == nil)
        for bad in ["Status: 99\n\n", "Status: 100 Continue\n\n", "Status: 600\n\n", "Status: abc\n\n",
                    "Status: 2000\n\n", "Status: 200\nStatus: 404\n\n", "Status:\n\n"] {
            guard case .malformed = parse(bad) else {
                Issue.record("accepted \(bad.debugDescription)")
                continue
            }
        }
    }

    @Test func locations() throws {
        let (local, _) = try parseHead("Location: /other/path?x=1\n\n")
        #expect(local.kind == .localRedirect("/other/path?x=1"))
        // A network-path reference or an absolute URL goes to the client, 302 by default.
        for target in ["//evil.example/x", "https://example.com/", "relative/path"] {
            let (redirect, _) = try parseHead("Location: \(target)\n\n")
            #expect(redirect.kind == .document && redirect.status == 302, "\(target)")
            #expect(redirect.headers.first { $0.name == "Location" }?.value == target)
        }
        // With a Status or any other field, a local Location is passed to the client as it is.
        let (withStatus, _) = try parseHead("Status: 301 Moved\nLocation: /new\n\n")
        #expect(withStatus.kind == .document && withStatus.status == 301)
        let (withHeader, _) = try parseHead("Location: /new\nSet-Cookie: a=1\n\n")
        #expect(withHeader.kind == .document && withHeader.status == 302)
    }

    @Test func dropsHopByHopAndServerOwnedFields() throws {
        let (parsed, _) = try parseHead("Content-Type: text/plain\nConnection: close\nKeep-Alive: 5\nTransfer-Encoding: chunked\n"
                                 + "Upgrade: h2c\nTE: trailers\nTrailer: X\nDate: yesterday\nServer: evil\nX-Kept: yes\n\n")
        #expect(parsed.headers.map(\.name) == ["Content-Type", "X-Kept"])
    }

    @Test func contentLength() throws {
        let (head, _) = try parseHead("Content-Type: text/plain\nContent-Length: 42\n\n")
        #expect(head.contentLength == 42)
        let (repeated, _) = try parseHead("Content-Type: text/plain\nContent-Length: 7\nContent-Length: 7\n\n")
        #expect(repeated.contentLength == 7 && repeated.headers.count == 2)
        for bad in ["Content-Length: -1\n\n", "Content-Length: 1e3\n\n", "Content-Length: 5\nContent-Length: 6\n\n",
                    "Content-Length: 99999999999999999999\n\n"] {
            guard case .malformed = parse("Content-Type: x/y\n" + bad) else {
                Issue.record("accepted \(bad.debugDescription)")
                continue
            }
        }
    }

    @Test func malformedBlocks() {
        let cases = [
            "no colon here\n\n",
            "\n",  // an empty block: none of Content-Type, Location, Status
            "X-Only: 1\n\n",
            "Content-Type: text/plain\n continued\n\n",
            "Bad Name: x\n\n",
            ": no name\n\n",
            "Content-Type: text/plain\nX-Bad: a\u{1}b\n\n",
            "Content-Type: text/plain\nX-Bad: a\rb\n\n",
            "Location: \n\n",
        ]
        for text in cases {
            guard case .malformed = parse(text) else {
                Issue.record("accepted \(text.debugDescription)")
                continue
            }
        }
    }

    @Test func splitAnywhere() throws {
        let text = "Status: 202 Accepted\r\nContent-Type: text/plain\r\nX-A: b\r\n\r\nthe body"
        let bytes = Array(text.utf8)
        let blockEnd = try #require(bytes.firstRange(of: Array("\r\n\r\n".utf8))).upperBound
        for split in 1..<bytes.count {
            var parser = CGIHeaderParser()
            var outcome = parser.feed(ByteBuffer(bytes: bytes[0..<split]))
            if case .needMore = outcome { outcome = parser.feed(ByteBuffer(bytes: bytes[split...])) }
            guard case .head(let head, let body) = outcome else {
                Issue.record("split at \(split): \(outcome)")
                continue
            }
            #expect(head.status == 202 && head.headers.count == 2)
            // The body is what followed the block in the read that completed it.
            let expected = split >= blockEnd ? bytes[blockEnd..<split] : bytes[blockEnd...]
            #expect(Array(body.readableBytesView) == Array(expected), "split at \(split)")
        }
    }

    @Test func limitAndEnd() {
        var parser = CGIHeaderParser(limit: 100)
        #expect(parser.feed(ByteBuffer(string: "X-A: " + String(repeating: "a", count: 200))) != .needMore)
        var short = CGIHeaderParser()
        #expect(short.feed(ByteBuffer(string: "Content-Type: text/plain\n")) == .needMore)
        #expect(short.end() == .malformed("output ended inside the header block"))
        var empty = CGIHeaderParser()
        #expect(empty.end() == .malformed("no output"))
    }
}

@Suite struct CGIEnvironmentTests {
    private func request(_ method: HTTPMethod = .GET, uri: String, headers: HTTPHeaders,
                         names: [ServerName] = [.exact("example.com")]) throws -> Request {
        var vhost = VirtualHost()
        vhost.names = names
        vhost.root = "/srv/www"
        let site = Site(vhost: vhost, realRoot: "/srv/www", routes: RouteTable<any Responder>([]), errorPages: ErrorPages())
        return Request(head: HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers),
                       target: try #require(RequestPath(target: uri)), site: site, routePrefix: "/cgi-bin/",
                       remoteAddress: try SocketAddress(ipAddress: "::1", port: 51000),
                       localAddress: try SocketAddress(ipAddress: "::1", port: 8080))
    }

    private let script = CGIEnvironment.Script(name: "/cgi-bin/app.py", pathInfo: "/x", filename: "/srv/www/cgi-bin/app.py")

    @Test func requestVariables() throws {
        let headers: HTTPHeaders = ["Host": "Example.COM:8080", "Content-Type": "text/plain", "Content-Length": "3",
                                    "Proxy": "http://evil", "X-Forwarded-For": "1.2.3.4", "x_underscore": "no",
                                    "Accept": "a", "accept": "b", "Cookie": "a=1", "cookie": "b=2", "Weird@Name": "no"]
        let environment = CGIEnvironment(request: try request(.POST, uri: "/cgi-bin/app.py/x?a=%20b+c", headers: headers),
                                         script: script, routeEnvironment: ["APP_MODE": "test", "REQUEST_METHOD": "FAKE"])
        let expected: [String: String] = [
            "PATH": CGIEnvironment.defaultPath, "APP_MODE": "test",
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": "swerve/\(SwerveVersion.string)",
            "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "POST", "REQUEST_URI": "/cgi-bin/app.py/x?a=%20b+c",
            "QUERY_STRING": "a=%20b+c", "SCRIPT_NAME": "/cgi-bin/app.py", "PATH_INFO": "/x",
            "SCRIPT_FILENAME": "/srv/www/cgi-bin/app.py", "DOCUMENT_ROOT": "/srv/www", "SERVER_NAME": "example.com",
            "SERVER_PORT": "8080", "REMOTE_ADDR": "::1", "REMOTE_PORT": "51000", "REDIRECT_STATUS": "200",
            "REQUEST_SCHEME": "http", "CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "3",
            "HTTP_HOST": "Example.COM:8080", "HTTP_X_FORWARDED_FOR": "1.2.3.4", "HTTP_ACCEPT": "a, b", "HTTP_COOKIE": "a=1; b=2",
        ]
        #expect(environment.variables == expected)
        #expect(environment.execveStrings.sorted() == expected.map { "\($0.key)=\($0.value)" }.sorted())
    }

    @Test func tlsVariables() throws {
        var request = try request(.GET, uri: "/cgi-bin/app.py", headers: ["Host": "a.test"])
        request.tls = TLSFacts(version: "TLSv1.2", serverName: "a.test")
        let variables = CGIEnvironment(request: request, script: script, routeEnvironment: [:]).variables
        #expect(variables["HTTPS"] == "on")
        #expect(variables["SSL_PROTOCOL"] == "TLSv1.2")
        #expect(variables["SSL_TLS_SNI"] == "a.test")
        #expect(variables["REQUEST_SCHEME"] == "https")
    }

    @Test func routePathWins() throws {
        let environment = CGIEnvironment(request: try request(uri: "/cgi-bin/app.py", headers: ["Host": "h"]),
                                         script: script, routeEnvironment: ["PATH": "/opt/bin"])
        #expect(environment.variables["PATH"] == "/opt/bin")
        #expect(environment.variables["CONTENT_LENGTH"] == nil && environment.variables["CONTENT_TYPE"] == nil)
        #expect(environment.variables["QUERY_STRING"] == "")
    }

    @Test func serverName() throws {
        let noHost = try request(uri: "/", headers: [:])
        #expect(CGIEnvironment.serverName(host: "[::1]:8080", request: noHost) == "[::1]")
        #expect(CGIEnvironment.serverName(host: "Host.Example", request: noHost) == "host.example")
        #expect(CGIEnvironment.serverName(host: nil, request: noHost) == "example.com")
        let wildcard = try request(uri: "/", headers: [:], names: [.wildcard(suffix: "example.com")])
        #expect(CGIEnvironment.serverName(host: nil, request: wildcard) == "::1")
    }
}

@Suite struct ScriptLocatorTests {
    private let base: String

    init() throws {
        let folder = FileManager.default.temporaryDirectory.path + "/swerve-locator-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder + "/cgi/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/outside", withIntermediateDirectories: true)
        let resolved = try #require(realpath(folder, nil))
        base = String(cString: resolved)
        free(resolved)
        for file in ["cgi/app.py", "cgi/sub/inner.PY", "cgi/readme.txt", "outside/evil.py"] {
            _ = FileManager.default.createFile(atPath: base + "/" + file, contents: Data("x".utf8))
        }
        try FileManager.default.createSymbolicLink(atPath: base + "/cgi/link.py", withDestinationPath: base + "/outside/evil.py")
    }

    private var locator: ScriptLocator {
        ScriptLocator(prefix: "/cgi-bin", dir: base + "/cgi", realDir: base + "/cgi",
                      interpreters: [".py": "python3 -u", ".sh": "/no/such/shell"], searchPath: "/usr/local/bin:/usr/bin:/bin")
    }

    private func python() throws -> String {
        try #require(FileSystem.findExecutable("python3", searchPath: "/usr/local/bin:/usr/bin:/bin"))
    }

    @Test func scriptAndPathInfo() throws {
        let expected = CGIEnvironment.Script(name: "/cgi-bin/app.py", pathInfo: "/a/b/", filename: base + "/cgi/app.py")
        #expect(locator.locate("/cgi-bin/app.py/a/b/") == .run(script: expected, arguments: [try python(), "-u", base + "/cgi/app.py"]))
        guard case .run(let plain, _) = locator.locate("/cgi-bin/app.py") else {
            Issue.record("app.py not run")
            return
        }
        #expect(plain.pathInfo == "")
        guard case .run(let nested, _) = locator.locate("/cgi-bin/sub/inner.PY/x") else {
            Issue.record("an upper-case extension is still the extension")
            return
        }
        #expect(nested.name == "/cgi-bin/sub/inner.PY" && nested.pathInfo == "/x")
    }

    @Test func otherOutcomes() {
        #expect(locator.locate("/cgi-bin/readme.txt") == .serveStatic)
        #expect(locator.locate("/cgi-bin/readme.txt/more") == .serveStatic, "the static responder answers 404 for it")
        #expect(locator.locate("/cgi-bin/sub/") == .serveStatic)
        #expect(locator.locate("/cgi-bin") == .serveStatic)
        #expect(locator.locate("/cgi-bin/missing.py") == .notFound)
        #expect(locator.locate("/cgi-bin/sub/missing/x") == .notFound)
        #expect(locator.locate("/cgi-bin/link.py") == .notFound, "a symlink out of the folder is never run")
    }

    @Test func backupsOfScriptsAreNotFound() throws {
        for name in ["app.py~", "app.py.bak", "app.py.ORIG", "app.py.swp", "app.py.save", "#app.py#", "notes.old"] {
            _ = FileManager.default.createFile(atPath: base + "/cgi/" + name, contents: Data("source".utf8))
            #expect(locator.locate("/cgi-bin/" + name) == .notFound, "\(name) would show a script's source")
        }
        #expect(locator.locate("/cgi-bin/readme.txt") == .serveStatic)
    }

    @Test func missingInterpreter() throws {
        try "x".write(toFile: base + "/cgi/run.sh", atomically: true, encoding: .utf8)
        #expect(locator.locate("/cgi-bin/run.sh") == .interpreterMissing(command: "/no/such/shell", script: "/cgi-bin/run.sh"))
    }
}

private struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
