import Foundation
import Glibc
import Testing

/// SPEC §4.3 against the real binary: Python CGI scripts written by the test.
@Suite struct ScriptTests {
    /// Dumps what a script sees: its environment, stdin, working directory and arguments.
    static let envScript = """
        import json, os, sys
        body = sys.stdin.buffer.read()
        sys.stdout.write("Content-Type: application/json\\r\\n\\r\\n")
        sys.stdout.write(json.dumps({"env": dict(os.environ), "stdin": body.decode("latin-1"),
                                     "cwd": os.getcwd(), "argv": sys.argv}))
        """

    /// Streams stdin back, 64 KiB at a time, while it is still arriving.
    static let echoScript = """
        import sys
        out = sys.stdout.buffer
        out.write(b"Content-Type: application/octet-stream\\n\\n")
        out.flush()
        while True:
            chunk = sys.stdin.buffer.read1(65536)
            if not chunk:
                break
            out.write(chunk)
            out.flush()
        """

    /// Starts a child, writes "SCRIPT_PID CHILD_PID" to the file named by the query, then sleeps.
    static let slowScript = """
        import os, subprocess, sys, time
        child = subprocess.Popen(["sleep", "60"])
        path = os.environ["QUERY_STRING"]
        with open(path + ".tmp", "w") as f:
            f.write("%d %d" % (os.getpid(), child.pid))
        os.rename(path + ".tmp", path)
        time.sleep(60)
        """

    /// The seed's template script: `@out` in an HTML string replaced, all of stdout the body.
    static let templateScript = """
        import os
        template = "<!doctype html><title>Template</title><p>Hello, @out!</p>"
        name = os.environ.get("QUERY_STRING", "") or "world"
        print(template.replace("@out", name))
        """

    static let files: [String: Data] = [
        "cgi-bin/env.py": Data(envScript.utf8),
        "cgi-bin/echo.py": Data(echoScript.utf8),
        "cgi-bin/slow.py": Data(slowScript.utf8),
        "cgi-bin/sub/deeper.py": Data(envScript.utf8),
        "cgi-bin/status.py": Data("""
            import os
            open(os.environ["QUERY_STRING"] or os.devnull, "w").write("ran")
            print("Status: 201 Created")
            print("Content-Type: text/plain")
            print("X-Extra: one")
            print("Set-Cookie: a=1")
            print("Set-Cookie: b=2")
            print("Connection: keep-alive, x-hop")
            print()
            print("made")
            """.utf8),
        "cgi-bin/absolute.py": Data("print('Location: http://example.com/elsewhere')\nprint()\n".utf8),
        "cgi-bin/local.py": Data("print('Location: /cgi-bin/env.py/after?from=redirect')\nprint()\n".utf8),
        "cgi-bin/local-static.py": Data("print('Location: /hello.txt')\nprint()\n".utf8),
        "cgi-bin/loop.py": Data("print('Location: /cgi-bin/loop.py')\nprint()\n".utf8),
        "cgi-bin/bad.py": Data("print('this is not a header')\nprint()\nprint('body')\n".utf8),
        "cgi-bin/crash.py": Data("raise SystemExit('failed before any output')\n".utf8),
        "cgi-bin/stderr.py": Data("""
            import sys
            sys.stderr.write("first problem\\nsecond problem\\n")
            print("Content-Type: text/plain\\n\\nok")
            """.utf8),
        "cgi-bin/nostdin.py": Data("print('Content-Type: text/plain\\n\\nignored the body')\n".utf8),
        "cgi-bin/length.py": Data("""
            import sys
            sys.stdout.write("Content-Type: text/plain\\nContent-Length: 5\\n\\nhello, and more")
            """.utf8),
        "cgi-bin/readme.txt": Data("not a script\n".utf8),
        "cgi-bin/nocontent.py": Data("""
            import sys
            sys.stdout.write("Status: 204 No Content\\n\\nHTTP/1.1 200 OK\\r\\nContent-Length: 9\\r\\n\\r\\nsmuggled!")
            """.utf8),
        "cgi-bin/silent.py": Data("".utf8),
        "cgi-bin/background.py": Data("""
            import os, subprocess
            child = subprocess.Popen(["sleep", "300"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            path = os.environ["QUERY_STRING"]
            with open(path + ".tmp", "w") as f:
                f.write(str(child.pid))
            os.rename(path + ".tmp", path)
            print("Content-Type: text/plain\\n\\nleft a child behind")
            """.utf8),
        "cgi-bin/.secret.py": Data(envScript.utf8),
        "templates/page.py": Data(templateScript.utf8),
        // Exit at once without a word while a child holds stdout open: the exit comes before the EOF.
        "templates/quiet.py": Data("import subprocess\nsubprocess.Popen(['sleep', '0.5'])\n".utf8),
        "templates/failing.py": Data("import subprocess, sys\nsubprocess.Popen(['sleep', '0.5'])\nsys.exit(3)\n".utf8),
        "hello.txt": Data("hello from a static file\n".utf8),
    ]

    static func config(timeout: String = "30s", maxConcurrent: Int = 64) -> String {
        """
        server:
          workers: 1
          timeouts: { script: \(timeout) }
          limits: { max_body_size: 16MiB }
        logging:
          access_log: {DIR}/access.log
          error_log: {DIR}/error.log
        vhosts:
          - names: [localhost]
            listen: ["127.0.0.1:{PORT}"]
            root: {ROOT}
            routes:
              - path: /cgi-bin/
                type: script
                interpreters: { .py: python3 }
                env: { GREETING: hello, SERVER_NAME: forged }
                max_concurrent: \(maxConcurrent)
              - path: /template/
                type: script
                dir: {ROOT}/templates
                interpreters: { .py: python3 }
                output: body
                content_type: text/html; charset=utf-8
              - path: /
                type: static
        """
    }

    private func start(timeout: String = "30s", maxConcurrent: Int = 64) throws -> TestServer {
        let server = try TestServer(config: Self.config(timeout: timeout, maxConcurrent: maxConcurrent), files: Self.files)
        try server.start()
        return server
    }

    private func request(_ server: TestServer, _ method: String, _ target: String, headers: [String] = [],
                         body: [UInt8] = []) throws -> HTTPTestResponse {
        try Self.request(port: server.port, method, target, headers: headers, body: body)
    }

    private static func request(port: Int, _ method: String, _ target: String, headers: [String] = [],
                                body: [UInt8] = []) throws -> HTTPTestResponse {
        let connection = try RawConnection(port: port)
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for header in headers { head += header + "\r\n" }
        if !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        try connection.send(head + "\r\n")
        if !body.isEmpty { try connection.send(body) }
        return try connection.readResponse(method: method)
    }

    private func dump(_ response: HTTPTestResponse) throws -> (env: [String: String], stdin: String, cwd: String, argv: [String]) {
        #expect(response.status == 200, "\(response.statusLine): \(response.text)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        return (try #require(object["env"] as? [String: String]), try #require(object["stdin"] as? String),
                try #require(object["cwd"] as? String), try #require(object["argv"] as? [String]))
    }

    @Test func environmentHoldsExactlyTheCGIVariables() throws {
        let server = try start()
        let response = try request(server, "POST", "/cgi-bin/env.py/extra/a%20b?q=a%26b+c&x=%2F",
                                   headers: ["Content-Type: application/x-www-form-urlencoded", "Proxy: http://evil:8080",
                                             "X-Custom: one", "X-Custom: two", "X_Sneaky: underscore", "Cookie: a=1", "Cookie: b=2"],
                                   body: Array("id=hello&name=a+b".utf8))
        let (env, stdin, cwd, argv) = try dump(response)
        let root = server.root.path
        let connection = try #require(env["REMOTE_PORT"].flatMap(Int.init))
        let expected: [String: String] = [
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "swerve/0.1.0",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": String(server.port),
            "REQUEST_METHOD": "POST",
            "REQUEST_URI": "/cgi-bin/env.py/extra/a%20b?q=a%26b+c&x=%2F",
            "QUERY_STRING": "q=a%26b+c&x=%2F",
            "SCRIPT_NAME": "/cgi-bin/env.py",
            "PATH_INFO": "/extra/a b",
            "SCRIPT_FILENAME": root + "/cgi-bin/env.py",
            "DOCUMENT_ROOT": root,
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": String(connection),
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": "17",
            "REDIRECT_STATUS": "200",
            "REQUEST_SCHEME": "http",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "GREETING": "hello",
            "HTTP_HOST": "localhost",
            "HTTP_CONNECTION": "close",
            "HTTP_X_CUSTOM": "one, two",
            "HTTP_COOKIE": "a=1; b=2",
        ]
        // Python itself adds LC_CTYPE when the locale is "C" (PEP 538); nothing else may be there.
        var seen = env
        seen["LC_CTYPE"] = nil
        #expect(seen == expected)
        #expect(env["HTTP_PROXY"] == nil, "httpoxy: a Proxy header must never become HTTP_PROXY")
        #expect(stdin == "id=hello&name=a+b")
        #expect(cwd == root + "/cgi-bin")
        #expect(argv == [root + "/cgi-bin/env.py"])
    }

    @Test func pathInfoAndNestedFolders() throws {
        let server = try start()
        let (env, _, cwd, _) = try dump(try request(server, "GET", "/cgi-bin/sub/deeper.py"))
        #expect(env["SCRIPT_NAME"] == "/cgi-bin/sub/deeper.py")
        #expect(env["PATH_INFO"] == "")
        #expect(env["QUERY_STRING"] == "")
        #expect(env["CONTENT_LENGTH"] == nil && env["CONTENT_TYPE"] == nil)
        #expect(cwd == server.root.path + "/cgi-bin/sub")
        let trailing = try dump(try request(server, "GET", "/cgi-bin/env.py/dir/"))
        #expect(trailing.env["PATH_INFO"] == "/dir/")
    }

    @Test func bodiesStreamBothWays() throws {
        let server = try start()
        // 10 MiB with a declared length: stdin and stdout stream at once (the script echoes as it reads).
        var generator = SystemRandomNumberGenerator()
        let big = (0..<(10 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // The client sends and reads at once, as curl does: the echo would fill both directions otherwise.
        let upload = try server.connect()
        try upload.send("POST /cgi-bin/echo.py HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(big.count)\r\n\r\n")
        let sender = Thread { [fd = upload.fd] in
            var offset = 0
            while offset < big.count {
                let count = big[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if count <= 0 { return }
                offset += count
            }
        }
        sender.start()
        let echoed = try upload.readResponse()
        #expect(echoed.status == 200)
        #expect(echoed.header("transfer-encoding") == "chunked")
        #expect(echoed.body.count == big.count)
        let same = echoed.body == big  // not inside #expect: a failure would diff 10 MiB
        #expect(same)

        // A chunked request body arrives decoded, and stdin ends where the body ends.
        let connection = try server.connect()
        try connection.send("POST /cgi-bin/env.py HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n")
        let (env, stdin, _, _) = try dump(try connection.readResponse())
        #expect(stdin == "hello, world")
        #expect(env["CONTENT_LENGTH"] == nil)

        // A script that never reads its stdin still answers; the connection stays usable.
        let ignored = try request(server, "POST", "/cgi-bin/nostdin.py", body: [UInt8](repeating: 65, count: 1 << 20))
        #expect(ignored.status == 200)
        #expect(ignored.text == "ignored the body\n")
    }

    @Test func statusAndHeadersPassThrough() throws {
        let server = try start()
        let marker = server.folder.appendingPathComponent("ran-get").path
        let response = try request(server, "GET", "/cgi-bin/status.py?\(marker)")
        #expect(response.status == 201)
        #expect(response.header("x-extra") == "one")
        #expect(response.headers.filter { $0.0 == "set-cookie" }.map(\.1) == ["a=1", "b=2"])
        #expect(response.header("status") == nil)
        #expect(response.header("connection") == "close", "the script's hop-by-hop Connection is dropped")
        #expect(response.text == "made\n")

        // HEAD runs the script (it decides) and the body is discarded.
        let headMarker = server.folder.appendingPathComponent("ran-head").path
        let head = try request(server, "HEAD", "/cgi-bin/status.py?\(headMarker)")
        #expect(head.status == 201)
        #expect(FileManager.default.fileExists(atPath: headMarker))

        // A Content-Length from the script frames the body: what follows is not sent.
        let framed = try request(server, "GET", "/cgi-bin/length.py")
        #expect(framed.header("content-length") == "5")
        #expect(framed.text == "hello")
    }

    @Test func redirects() throws {
        let server = try start()
        let absolute = try request(server, "GET", "/cgi-bin/absolute.py")
        #expect(absolute.status == 302)
        #expect(absolute.header("location") == "http://example.com/elsewhere")

        // A local Location alone: answered as a GET for that path, inside the server.
        let local = try request(server, "POST", "/cgi-bin/local.py", body: Array("x=1".utf8))
        let (env, stdin, _, _) = try dump(local)
        #expect(local.header("location") == nil)
        #expect(env["REQUEST_METHOD"] == "GET")
        #expect(env["QUERY_STRING"] == "from=redirect")
        #expect(env["PATH_INFO"] == "/after")
        #expect(env["CONTENT_LENGTH"] == nil)
        #expect(stdin == "")

        let toStatic = try request(server, "GET", "/cgi-bin/local-static.py")
        #expect(toStatic.status == 200)
        #expect(toStatic.text == "hello from a static file\n")

        let loop = try request(server, "GET", "/cgi-bin/loop.py")
        #expect(loop.status == 500)
        try waitUntil("the redirect loop is logged") { server.errorLog.contains("internal redirects") }
    }

    @Test func badOutputGives502AndLogsTheScript() throws {
        let server = try start()
        let malformed = try request(server, "GET", "/cgi-bin/bad.py")
        #expect(malformed.status == 502)
        let crashed = try request(server, "GET", "/cgi-bin/crash.py")
        #expect(crashed.status == 502)
        try waitUntil("both failures are in the error log") {
            server.errorLog.contains("script /cgi-bin/bad.py: malformed header block")
                && server.errorLog.contains("script /cgi-bin/crash.py: failed before any output")
        }
        let stderr = try request(server, "GET", "/cgi-bin/stderr.py")
        #expect(stderr.status == 200)
        try waitUntil("stderr lines are in the error log") {
            server.errorLog.contains("[error]") && server.errorLog.contains("script /cgi-bin/stderr.py: first problem")
                && server.errorLog.contains("script /cgi-bin/stderr.py: second problem")
        }
    }

    @Test func outputBodyRouteServesTheTemplate() throws {
        let server = try start()
        let response = try request(server, "GET", "/template/page.py?swerve")
        #expect(response.status == 200)
        #expect(response.header("content-type") == "text/html; charset=utf-8")
        #expect(response.text == "<!doctype html><title>Template</title><p>Hello, swerve!</p>\n")
    }

    @Test func outputBodyThatWritesNothingIsAnEmptyPageUnlessItFails() throws {
        let server = try start()
        let quiet = try request(server, "GET", "/template/quiet.py")
        #expect(quiet.status == 200, "\(quiet.statusLine)")
        #expect(quiet.body.isEmpty)
        #expect(try request(server, "GET", "/template/failing.py").status == 502)
    }

    @Test func otherFilesAreStaticAndHiddenOnesAreNot() throws {
        let server = try start()
        let readme = try request(server, "GET", "/cgi-bin/readme.txt")
        #expect(readme.status == 200)
        #expect(readme.text == "not a script\n")
        #expect(try request(server, "GET", "/cgi-bin/readme.txt/more").status == 404)
        #expect(try request(server, "GET", "/cgi-bin/.secret.py").status == 404)
        #expect(try request(server, "GET", "/cgi-bin/missing.py").status == 404)
        #expect(try request(server, "GET", "/cgi-bin/%2e%2e/hello.txt").status == 200, "normalised to /hello.txt, a static file")
        #expect(try request(server, "GET", "/cgi-bin").status == 301)
    }

    @Test func fiftyConcurrentRequests() throws {
        let server = try start()
        let failures = Atomic(0)
        let port = server.port
        DispatchQueue.concurrentPerform(iterations: 50) { index in
            do {
                let response = try Self.request(port: port, "GET", "/cgi-bin/env.py?n=\(index)")
                let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                let env = object?["env"] as? [String: String]
                if response.status != 200 || env?["QUERY_STRING"] != "n=\(index)" { failures.add(1) }
            } catch {
                failures.add(1)
            }
        }
        #expect(failures.value == 0)
        try waitUntil("every script is reaped") { ProcFS.children(of: try #require(server.workers.first)).isEmpty }
    }

    /// Starts slow.py on its own connection and waits for the pids it reports.
    private func startSlow(_ server: TestServer) throws -> (connection: RawConnection, script: pid_t, child: pid_t) {
        let pidFile = server.folder.appendingPathComponent("pids-\(UUID().uuidString)").path
        let connection = try server.connect()
        try connection.send("GET /cgi-bin/slow.py?\(pidFile) HTTP/1.1\r\nHost: localhost\r\n\r\n")
        var text = ""
        try waitUntil("slow.py reports its pids") {
            text = (try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? ""
            return !text.isEmpty
        }
        let pids = text.split(separator: " ").compactMap { pid_t($0) }
        return (connection, pids[0], pids[1])
    }

    /// No process `pid` left. `zombieCounts`: a zombie is as good as gone — for
    /// a process whose parent is not swerve's (reparented to init, which reaps
    /// it in its own time); swerve's own children must be reaped, not zombies.
    private func isGone(_ pid: pid_t, zombieCounts: Bool) -> Bool {
        guard let state = ProcFS.state(of: pid) else { return true }
        return zombieCounts && state == "Z"
    }

    @Test func timeoutKillsTheProcessGroupAndAnswers504() throws {
        let server = try start(timeout: "1s")
        let worker = try #require(server.workers.first)
        let (connection, script, child) = try startSlow(server)
        #expect(ProcFS.parent(of: script) == worker)
        let response = try connection.readResponse()
        #expect(response.status == 504)
        try waitUntil("the script and its child are gone", timeout: 10) {
            isGone(script, zombieCounts: false) && isGone(child, zombieCounts: true)
        }
        #expect(server.errorLog.contains("script /cgi-bin/slow.py timed out after 1s"))
    }

    @Test func clientDisconnectKillsTheScript() throws {
        let server = try start()
        let (connection, script, child) = try startSlow(server)
        connection.closeNow()
        try waitUntil("the script and its child are gone", timeout: 10) {
            isGone(script, zombieCounts: false) && isGone(child, zombieCounts: true)
        }
        // The worker is fine and serves the next script.
        #expect(try request(server, "GET", "/cgi-bin/nostdin.py").status == 200)
    }

    @Test func maxConcurrentAnswers503() throws {
        let server = try start(maxConcurrent: 1)
        let (connection, script, _) = try startSlow(server)
        let refused = try request(server, "GET", "/cgi-bin/nostdin.py")
        #expect(refused.status == 503)
        #expect(refused.header("retry-after") == "1")
        // Static files of the route are not scripts: not counted.
        #expect(try request(server, "GET", "/cgi-bin/readme.txt").status == 200)
        connection.closeNow()
        try waitUntil("the slot frees up when the script is gone") {
            isGone(script, zombieCounts: false) && (try? request(server, "GET", "/cgi-bin/nostdin.py").status) == 200
        }
        // An internal redirect to another script of the route is followed once the
        // first is done, so one slot is enough (a slot frees when its script is reaped,
        // just after its response: hence a bounded retry rather than one request).
        try waitUntil("a redirect to a script succeeds with one slot") {
            (try? request(server, "GET", "/cgi-bin/local.py").status) == 200
        }
    }

    @Test func fastStopKillsRunningScripts() throws {
        let server = try start()
        let (_, script, child) = try startSlow(server)
        server.signal(SIGTERM)
        try waitUntil("swerve exits") { !(server.process?.isRunning ?? false) }
        try waitUntil("the script and its child are gone", timeout: 5) { isGone(script, zombieCounts: true) && isGone(child, zombieCounts: true) }
    }

    @Test func aKilledWorkersScriptsDoNotOutliveIt() throws {
        // SIGKILL (a crash, a missed heartbeat, the drain deadline) leaves the
        // worker no chance to end its scripts: the master ends them.
        let server = try start()
        let worker = try #require(server.workers.first)
        let (connection, script, child) = try startSlow(server)
        kill(worker, SIGKILL)
        try waitUntil("the script and its child are gone, long before timeouts.script", timeout: 5) {
            isGone(script, zombieCounts: true) && isGone(child, zombieCounts: true)
        }
        // The master logs after it sent the signals: the line may trail the deaths a little.
        try waitUntil("the master says so", timeout: 5) {
            server.errorLog.contains("ended 1 script process group(s) left running by worker \(worker)")
        }
        connection.closeNow()
    }

    @Test func clientResetKillsTheScript() throws {
        let server = try start()
        let (connection, script, child) = try startSlow(server)
        connection.resetNow()
        try waitUntil("the script and its child are gone after a reset", timeout: 10) {
            isGone(script, zombieCounts: false) && isGone(child, zombieCounts: true)
        }
        try waitUntil("the reset request is in the access log") { server.accessLog.contains("\"GET /cgi-bin/slow.py") }
    }

    @Test func responsesWithoutBodyCarryNoScriptBytes() throws {
        let server = try start()
        // A 204 whose script printed something after the block: none of it may
        // reach the wire, where it would read as the next response.
        let connection = try server.connect()
        try connection.send("GET /cgi-bin/nocontent.py HTTP/1.1\r\nHost: localhost\r\n\r\n"
                            + "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try connection.readResponse().status == 204)
        let next = try connection.readResponse()
        #expect(next.status == 200)
        #expect(next.text == "hello from a static file\n")

        // HEAD with the script's Content-Length: the head as it is, and the connection lives on.
        let head = try server.connect()
        try head.send("HEAD /cgi-bin/length.py HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let headResponse = try head.readResponse(method: "HEAD")
        #expect(headResponse.status == 200)
        #expect(headResponse.header("content-length") == "5")
        try head.send("GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try head.readResponse().status == 200)
    }

    @Test func noHeaderBlockIsAlways502() throws {
        let server = try start()
        // A script that exits 0 without a word: whichever of its exit and its EOF is seen first.
        var statuses: [Int] = []
        for _ in 0..<12 { statuses.append(try request(server, "GET", "/cgi-bin/silent.py").status) }
        #expect(statuses == Array(repeating: 502, count: 12))
    }

    @Test func whatAScriptLeavesRunningIsEnded() throws {
        let server = try start()
        let pidFile = server.folder.appendingPathComponent("background-pid").path
        let response = try request(server, "GET", "/cgi-bin/background.py?\(pidFile)")
        #expect(response.text == "left a child behind\n")
        let child = try #require(pid_t((try String(contentsOfFile: pidFile, encoding: .utf8))))
        try waitUntil("the child left in the script's process group is gone", timeout: 10) {
            isGone(child, zombieCounts: true)
        }
    }
}
