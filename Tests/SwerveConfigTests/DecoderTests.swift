import Glibc
import Testing
import SwerveConfig

/// The current user's and group's names: they exist on any machine the tests run on.
private func currentUserAndGroup() throws -> (user: String, group: String) {
    let passwd = try #require(getpwuid(getuid()))
    let group = try #require(getgrgid(getgid()))
    return (String(cString: passwd.pointee.pw_name), String(cString: group.pointee.gr_name))
}

@Suite("ConfigDecoder")
struct DecoderTests {
    /// One vhost on 8080 serving `www`, plus `extra` lines inside the vhost.
    static func minimal(_ extra: String = "") -> String {
        "vhosts:\n  - listen: [8080]\n    root: www\n" + extra
    }

    /// Loads and requires a valid config, reporting the diagnostics if not.
    static func valid(
        _ yaml: String, in dir: TempDir, subfolder: String = "", sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Config {
        let outcome = load(yaml, in: dir, subfolder: subfolder)
        #expect(outcome.diagnostics.errors.isEmpty, "\(outcome.printed)", sourceLocation: sourceLocation)
        return try #require(outcome.config, sourceLocation: sourceLocation)
    }

    // MARK: every key

    @Test func everyKeyOfTheSpecIsDecoded() throws {
        let dir = try TempDir().site()
        try dir.mkdir("run", "logs")
        try dir.write("www/errors/404.html", "not found")
        try dir.write("www/errors/500.html", "oops")
        let (user, group) = try currentUserAndGroup()
        let yaml = """
            server:
              workers: 4
              user: \(user)
              group: \(group)
              pid_file: run/swerve.pid
              shutdown_timeout: 45s
              max_connections: 100
              backlog: 128
              http2: false
              timeouts:
                header: 5s
                body: 1m
                keepalive: 500ms
                send: 2m
                script: 1h30m
              limits:
                max_header_size: 8KiB
                max_body_size: 2M

            logging:
              access_log: logs/access.log
              error_log: logs/error.log
              level: debug
              format: json

            default_type: text/plain
            mime_types:
              .webp: image/x-webp
              .md: text/markdown; charset=utf-8
              foo: application/x-foo

            vhosts:
              - names: [Localhost, 127.0.0.1, "*.example.com"]
                default: true
                listen: [8080, "127.0.0.1:9090", "[::1]:9091"]
                root: www
                index: [index.html, index.htm]
                error_pages: { 404: /errors/404.html, 500: /errors/500.html }
                routes:
                  - path: /upload
                    type: upload
                    dir: www/uploads
                    max_size: 20MiB
                    max_files: 3
                    accept: [image/*, application/PDF]
                    metadata: false
                    redirect: /cgi-bin/gallery.py
                  - path: /cgi-bin/
                    type: script
                    dir: www/cgi-bin
                    interpreters: { .py: python3, sh: /bin/sh }
                    output: body
                    content_type: text/html; charset=utf-8
                    env: { PYTHONUNBUFFERED: "1", APP_MODE: test }
                    max_concurrent: 8
                  - path: /
                    type: static
                    autoindex: true
                    precompressed: true
                    cache_control: max-age=3600
            """
        let config = try Self.valid(yaml, in: dir)

        var server = ServerSettings()
        server.workers = .fixed(4)
        server.user = user
        server.group = group
        server.pidFile = dir.url("run/swerve.pid")
        server.shutdownTimeout = .seconds(45)
        server.maxConnections = 100
        server.backlog = 128
        server.http2 = false
        server.timeouts.header = .seconds(5)
        server.timeouts.body = .seconds(60)
        server.timeouts.keepalive = .milliseconds(500)
        server.timeouts.send = .seconds(120)
        server.timeouts.script = .seconds(5400)
        server.limits.maxHeaderSize = 8 * 1024
        server.limits.maxBodySize = 2 * 1024 * 1024
        #expect(config.server == server)

        var logging = LoggingSettings()
        logging.accessLog = .file(dir.url("logs/access.log"))
        logging.errorLog = .file(dir.url("logs/error.log"))
        logging.level = .debug
        logging.format = .json
        #expect(config.logging == logging)

        #expect(config.mimeTypes == MIMETypes(
            overrides: ["webp": "image/x-webp", "md": "text/markdown; charset=utf-8", "foo": "application/x-foo"],
            defaultType: "text/plain"))
        #expect(config.mimeTypes.type(forExtension: "nope") == "text/plain")

        #expect(config.vhosts.count == 1)
        let vhost = try #require(config.vhosts.first)
        #expect(vhost.names == [.exact("localhost"), .exact("127.0.0.1"), .wildcard(suffix: "example.com")])
        #expect(vhost.logName == "localhost")
        #expect(vhost.isDefault)
        #expect(vhost.listen.map(\.description) == ["0.0.0.0:8080", "[::]:8080", "127.0.0.1:9090", "[::1]:9091"])
        #expect(vhost.root == dir.url("www"))
        #expect(vhost.index == ["index.html", "index.htm"])
        #expect(vhost.errorPages == [404: "/errors/404.html", 500: "/errors/500.html"])

        #expect(vhost.routes.map(\.path) == ["/upload", "/cgi-bin/", "/"])
        var upload = UploadRoute()
        upload.dir = dir.url("www/uploads")
        upload.maxSize = 20 << 20
        upload.maxFiles = 3
        upload.accept = ["image/*", "application/pdf"]
        upload.metadata = false
        upload.redirect = "/cgi-bin/gallery.py"
        #expect(vhost.routes[0].kind == .upload(upload))

        var script = ScriptRoute()
        script.dir = dir.url("www/cgi-bin")
        script.interpreters = [".py": "python3", ".sh": "/bin/sh"]
        script.output = .body
        script.contentType = "text/html; charset=utf-8"
        script.env = ["PYTHONUNBUFFERED": "1", "APP_MODE": "test"]
        script.maxConcurrent = 8
        #expect(vhost.routes[1].kind == .script(script))

        var statik = StaticRoute()
        statik.autoindex = true
        statik.precompressed = true
        statik.cacheControl = "max-age=3600"
        #expect(vhost.routes[2].kind == .static(statik))

        #expect(config.file == "config.yaml")
        #expect(config.directory == dir.path)
        #expect(config.routeCount == 3)
        #expect(config.summary
            == "1 vhost, 3 routes, listening on 0.0.0.0:8080, [::]:8080, 127.0.0.1:9090, [::1]:9091")
    }

    @Test func marksOfDecodedValues() throws {
        let dir = try TempDir().site()
        try dir.mkdir("run")
        let yaml = """
            server:
              pid_file: run/swerve.pid
            logging:
              access_log: off
            vhosts:
              - names: [a.test, b.test]
                default: true
                listen: [8080, "127.0.0.1:9090"]
                root: www
                routes:
                  - path: /up
                    type: upload
                    dir: www/uploads
                  - path: /cgi-bin/
                    type: script
            """
        let config = try Self.valid(yaml, in: dir)
        #expect(config.mark(of: "server.pid_file") == at(2, 13))
        #expect(config.mark(of: "logging.access_log") == at(4, 15))
        #expect(config.mark(of: "server.user") == .start)  // not written
        #expect(config.logging.accessLog == .off)
        let vhost = try #require(config.vhosts.first)
        #expect(vhost.marks.vhost == at(6, 5))
        #expect(vhost.marks.names == [at(6, 13), at(6, 21)])
        #expect(vhost.marks.isDefault == at(7, 14))
        #expect(vhost.marks.listen == [at(8, 14), at(8, 14), at(8, 20)])
        #expect(vhost.marks.root == at(9, 11))
        #expect(vhost.routes.map(\.mark) == [at(11, 15), at(14, 15)])
        // An upload's dir where written; a script without dir: its path.
        #expect(vhost.routes.map(\.dirMark) == [at(13, 14), at(14, 15)])
    }

    // MARK: defaults

    @Test func defaultsWhenAbsent() throws {
        let dir = try TempDir().site()
        let config = try Self.valid(Self.minimal(), in: dir)

        #expect(config.server == ServerSettings())
        #expect(config.server.workers == .auto)
        #expect(config.server.user == nil)
        #expect(config.server.group == nil)
        #expect(config.server.pidFile == nil)
        #expect(config.server.shutdownTimeout == .seconds(30))
        #expect(config.server.maxConnections == 4096)
        #expect(config.server.backlog == 511)
        #expect(config.server.http2)
        #expect(config.server.timeouts.header == .seconds(10))
        #expect(config.server.timeouts.body == .seconds(60))
        #expect(config.server.timeouts.keepalive == .seconds(15))
        #expect(config.server.timeouts.script == .seconds(30))
        #expect(config.server.limits.maxHeaderSize == 16 * 1024)
        #expect(config.server.limits.maxBodySize == 1024 * 1024)

        #expect(config.logging == LoggingSettings())
        #expect(config.logging.accessLog == .stdout)
        #expect(config.logging.errorLog == .stderr)
        #expect(config.logging.level == .info)
        #expect(config.logging.format == .combined)

        #expect(config.mimeTypes == MIMETypes())
        #expect(config.mimeTypes.defaultType == "application/octet-stream")

        let vhost = try #require(config.vhosts.first)
        #expect(vhost.names.isEmpty)
        #expect(vhost.logName == "-")
        #expect(!vhost.isDefault)
        #expect(vhost.marks.isDefault == nil)
        #expect(vhost.index == ["index.html"])
        #expect(vhost.errorPages.isEmpty)
        #expect(vhost.routes.count == 1)
        #expect(vhost.routes.first?.path == "/")
        #expect(vhost.routes.first?.kind == .static(StaticRoute()))
        #expect(vhost.routes.first?.mark == at(2, 5))
        #expect(StaticRoute().autoindex == false)
        #expect(StaticRoute().cacheControl == nil)
        #expect(config.revalidated().isEmpty)
    }

    @Test func emptySectionsKeepDefaults() throws {
        let dir = try TempDir().site()
        let config = try Self.valid("server:\nlogging:\nmime_types:\n" + Self.minimal(), in: dir)
        #expect(config.server == ServerSettings())
        #expect(config.logging == LoggingSettings())
        #expect(config.mimeTypes == MIMETypes())
    }

    @Test func uploadDefaults() throws {
        let dir = try TempDir().site()
        let config = try Self.valid(Self.minimal("""
                routes:
                  - path: /up
                    type: upload
                    dir: www/uploads

            """), in: dir)
        guard case .upload(let upload) = config.vhosts.first?.routes.first?.kind else {
            Issue.record("not an upload route")
            return
        }
        #expect(upload.dir == dir.url("www/uploads"))
        #expect(upload.maxSize == 10 * 1024 * 1024)
        #expect(upload.maxFiles == 10)
        #expect(upload.accept.isEmpty)
        #expect(upload.metadata == true)
        #expect(upload.redirect == nil)
    }

    @Test func scriptDefaults() throws {
        let dir = try TempDir().site()
        let config = try Self.valid(Self.minimal("""
                routes:
                  - path: /cgi-bin/
                    type: script

            """), in: dir)
        let route = try #require(config.vhosts.first?.routes.first)
        guard case .script(let script) = route.kind else {
            Issue.record("not a script route")
            return
        }
        #expect(script.dir == dir.url("www/cgi-bin"))  // root + path
        #expect(script.output == .cgi)
        #expect(script.maxConcurrent == 64)
        #expect(script.interpreters.isEmpty)
        #expect(script.env.isEmpty)
        #expect(script.contentType == nil)
        #expect(route.dirMark == route.mark)
    }

    @Test func staticDefaultsWhenOnlyTypeIsGiven() throws {
        let dir = try TempDir().site()
        let config = try Self.valid(Self.minimal("    routes:\n      - path: /\n        type: static\n"), in: dir)
        #expect(config.vhosts.first?.routes.map(\.kind) == [.static(StaticRoute())])
    }

    // MARK: sizes and durations

    static let sizeCases: [(String, Int)] = [
        ("1", 1), ("512B", 512), ("1K", 1024), ("1KB", 1024), ("16KiB", 16384), ("2M", 2 << 20),
        ("20MiB", 20 << 20), ("1G", 1 << 30), ("2GiB", 2 << 30), ("\"3 MB\"", 3 << 20),
    ]

    @Test(arguments: sizeCases)
    func sizesViaTheConfig(text: String, bytes: Int) throws {
        let dir = try TempDir().site()
        let config = try Self.valid(Self.minimal("""
                routes:
                  - path: /up
                    type: upload
                    dir: www/uploads
                    max_size: \(text)

            """), in: dir)
        guard case .upload(let upload) = config.vhosts.first?.routes.first?.kind else {
            Issue.record("not an upload route")
            return
        }
        #expect(upload.maxSize == bytes)
    }

    static let durationCases: [(String, Duration)] = [
        ("1", .seconds(1)), ("250ms", .milliseconds(250)), ("30s", .seconds(30)), ("2m", .seconds(120)),
        ("1h", .seconds(3600)), ("1m30s", .seconds(90)), ("1h 15m", .seconds(4500)), ("30d", .seconds(2_592_000)),
        ("1d 12h", .seconds(129_600)),
    ]

    @Test(arguments: durationCases)
    func durationsViaTheConfig(text: String, duration: Duration) throws {
        let dir = try TempDir().site()
        let config = try Self.valid("""
            server:
              shutdown_timeout: \(text)
              timeouts:
                script: \(text)
            """ + "\n" + Self.minimal(), in: dir)
        #expect(config.server.shutdownTimeout == duration)
        #expect(config.server.timeouts.script == duration)
        #expect(config.server.timeouts.header == .seconds(10))
    }

    @Test func headerLimitBoundaries() throws {
        let dir = try TempDir().site()
        let low = try Self.valid("server:\n  limits:\n    max_header_size: 1K\n" + Self.minimal(), in: dir)
        #expect(low.server.limits.maxHeaderSize == 1024)
        let zeroBody = try Self.valid("server:\n  limits:\n    max_body_size: 0\n" + Self.minimal(), in: dir)
        #expect(zeroBody.server.limits.maxBodySize == 0)
    }

    // MARK: listen

    static let listenCases: [(String, [String])] = [
        ("[8080]", ["0.0.0.0:8080", "[::]:8080"]),
        ("8080", ["0.0.0.0:8080", "[::]:8080"]),
        ("[\"127.0.0.1:8080\"]", ["127.0.0.1:8080"]),
        ("127.0.0.1:8080", ["127.0.0.1:8080"]),
        ("[\"[::1]:8080\"]", ["[::1]:8080"]),
        ("\"[::]:8080\"", ["[::]:8080"]),
        ("[\"*:8080\"]", ["0.0.0.0:8080"]),
        ("[8080, 8080, \"0.0.0.0:8080\"]", ["0.0.0.0:8080", "[::]:8080"]),
        ("[\"127.0.0.1:80\", \"[::1]:80\", 81]", ["127.0.0.1:80", "[::1]:80", "0.0.0.0:81", "[::]:81"]),
    ]

    @Test(arguments: listenCases)
    func listenForms(listen: String, expected: [String]) throws {
        let dir = try TempDir().site()
        let config = try Self.valid("vhosts:\n  - listen: \(listen)\n    root: www\n", in: dir)
        #expect(config.vhosts.first?.listen.map(\.description) == expected)
        #expect(config.listenAddresses.map(\.description) == expected)
    }

    @Test func barePortIsBothFamilies() throws {
        let dir = try TempDir().site()
        let config = try Self.valid(Self.minimal(), in: dir)
        #expect(config.vhosts.first?.listen == [
            ListenAddress(host: "0.0.0.0", port: 8080, family: .ipv4),
            ListenAddress(host: "::", port: 8080, family: .ipv6),
        ])
        #expect(config.summary == "1 vhost, 1 route, listening on 0.0.0.0:8080, [::]:8080")
    }

    @Test func listenAddressesAreSharedAcrossVhosts() throws {
        let dir = try TempDir().site()
        let config = try Self.valid("""
            vhosts:
              - names: [a.test]
                listen: [8080]
                root: www
              - names: [b.test]
                listen: [8080, 8081]
                root: www
            """, in: dir)
        #expect(config.listenAddresses.map(\.description) == ["0.0.0.0:8080", "[::]:8080", "0.0.0.0:8081", "[::]:8081"])
        #expect(config.summary == "2 vhosts, 2 routes, listening on 0.0.0.0:8080, [::]:8080, 0.0.0.0:8081, [::]:8081")
    }

    // MARK: names

    @Test func wildcardNames() throws {
        let dir = try TempDir().site()
        let config = try Self.valid("""
            vhosts:
              - names: ["*.Example.COM", WWW.Example.org]
                listen: [8080]
                root: www
            """, in: dir)
        let names = try #require(config.vhosts.first?.names)
        #expect(names == [.wildcard(suffix: "example.com"), .exact("www.example.org")])
        let wildcard = names[0]
        #expect(wildcard.description == "*.example.com")
        #expect(wildcard.matches("a.example.com"))
        #expect(wildcard.matches("a.b.example.com"))
        #expect(!wildcard.matches("example.com"))
        #expect(!wildcard.matches(".example.com"))
        #expect(!wildcard.matches("aexample.com"))
        #expect(!wildcard.matches("a.example.org"))
        #expect(names[1].matches("www.example.org"))
        #expect(!names[1].matches("a.www.example.org"))
    }

    @Test(arguments: ["\"*\"", "\"*example.com\"", "a.*.com", "\"*.\"", "\"*.*.com\"", "\"a b\"", "\"a/b\""])
    func invalidNames(name: String) throws {
        let dir = try TempDir().site()
        let outcome = load("vhosts:\n  - names: [\(name)]\n    listen: [8080]\n    root: www\n", in: dir)
        #expect(outcome.config == nil)
        #expect(outcome.diagnostics.errors.count == 1)
        let error = try #require(outcome.diagnostics.errors.first)
        #expect(error.mark == at(2, 13))
        #expect(error.message.hasPrefix("invalid name '"))
        #expect(error.message.hasSuffix("' (a host name, an address, or '*.example.com' with the wildcard in front)"))
    }

    // MARK: MIME types

    @Test func mimeMerge() throws {
        let dir = try TempDir().site()
        let config = try Self.valid("""
            mime_types:
              .webp: image/x-webp
              .md: text/markdown
              .YAMLX: application/x-yamlx+json
            """ + "\n" + Self.minimal(), in: dir)
        let mime = config.mimeTypes
        #expect(mime.type(forExtension: "webp") == "image/x-webp")  // override wins
        #expect(mime.type(forExtension: "md") == "text/markdown; charset=utf-8")  // text gets a charset
        #expect(mime.type(forExtension: "yamlx") == "application/x-yamlx+json; charset=utf-8")
        #expect(mime.type(forExtension: "png") == "image/png")  // built-in still there
        #expect(mime.type(forExtension: "html") == "text/html; charset=utf-8")
        #expect(mime.type(forPath: "/a/readme.MD") == "text/markdown; charset=utf-8")
        #expect(mime.type(forExtension: "unknown") == "application/octet-stream")
    }

    @Test func defaultTypeIsUsedAsWritten() throws {
        let dir = try TempDir().site()
        let config = try Self.valid("default_type: text/plain\n" + Self.minimal(), in: dir)
        #expect(config.mimeTypes.defaultType == "text/plain")
        #expect(config.mimeTypes.type(forExtension: "unknown") == "text/plain")
        #expect(config.mimeTypes.type(forExtension: "png") == "image/png")
    }

    // MARK: relative paths

    @Test func relativePathsResolveAgainstTheConfigFolder() throws {
        let dir = try TempDir().site()
        try dir.mkdir("config/logs", "run")
        let config = try Self.valid("""
            server:
              pid_file: ../run/swerve.pid
            logging:
              access_log: logs/access.log
              error_log: ./logs/../logs//error.log
            vhosts:
              - listen: [8080]
                root: ../www
                routes:
                  - path: /up
                    type: upload
                    dir: ../www/uploads
                  - path: /cgi-bin/
                    type: script
                    dir: ../www/cgi-bin/
            """, in: dir, subfolder: "config")
        #expect(config.directory == dir.url("config"))
        #expect(config.server.pidFile == dir.url("run/swerve.pid"))
        #expect(config.logging.accessLog == .file(dir.url("config/logs/access.log")))
        #expect(config.logging.errorLog == .file(dir.url("config/logs/error.log")))
        let vhost = try #require(config.vhosts.first)
        #expect(vhost.root == dir.url("www"))
        #expect(vhost.routes.first?.kind == .upload({
            var upload = UploadRoute()
            upload.dir = dir.url("www/uploads")
            return upload
        }()))
        guard case .script(let script) = vhost.routes.last?.kind else {
            Issue.record("not a script route")
            return
        }
        #expect(script.dir == dir.url("www/cgi-bin"))
    }

    @Test func absolutePathsAreKeptNormalised() throws {
        let dir = try TempDir().site()
        let config = try Self.valid("vhosts:\n  - listen: [8080]\n    root: \(dir.path)//www/./\n", in: dir, subfolder: "elsewhere")
        #expect(config.vhosts.first?.root == dir.url("www"))
    }

    @Test func loadPathUsesTheFileFolder() throws {
        let dir = try TempDir().site()
        let file = try dir.write("config/config.yaml", "vhosts:\n  - listen: [8080]\n    root: ../www\n")
        let outcome = ConfigLoader.load(path: file)
        #expect(outcome.printed == [])
        let config = try #require(outcome.config)
        #expect(config.file == file)
        #expect(config.directory == dir.url("config"))
        #expect(config.vhosts.first?.root == dir.url("www"))
    }

    @Test func loadPathOfAMissingFile() throws {
        let dir = try TempDir()
        let outcome = ConfigLoader.load(path: dir.url("nope.yaml"))
        #expect(outcome.config == nil)
        #expect(outcome.printed == ["\(dir.url("nope.yaml")):1:1: error: cannot read the config file: No such file or directory"])
        let folder = ConfigLoader.load(path: dir.path)
        #expect(folder.printed == ["\(dir.path):1:1: error: cannot read the config file: is a directory"])
    }

    // MARK: more values

    @Test func quotedAndAlternativeSpellings() throws {
        let dir = try TempDir().site()
        let config = try Self.valid("""
            server:
              workers: "auto"
            vhosts:
              - listen: ["8080"]
                root: "www"
                default: yes
                routes:
                  - path: /
                    type: static
                    autoindex: "on"
                    precompressed: False
            """, in: dir)
        #expect(config.server.workers == .auto)
        #expect(config.vhosts.first?.isDefault == true)
        var statik = StaticRoute()
        statik.autoindex = true
        #expect(config.vhosts.first?.routes.first?.kind == .static(statik))
    }

    @Test func anchorsAndMergeKeysWorkInConfigs() throws {
        let dir = try TempDir().site()
        let config = try Self.valid("""
            vhosts:
              - &site
                names: [a.test]
                listen: [8080]
                root: www
              - <<: *site
                names: [b.test]
            """, in: dir)
        #expect(config.vhosts.count == 2)
        #expect(config.vhosts.map(\.names) == [[.exact("a.test")], [.exact("b.test")]])
        #expect(config.vhosts.map(\.root) == [dir.url("www"), dir.url("www")])
    }

    @Test func decodedIsKeptDespiteErrors() throws {
        let dir = try TempDir().site()
        try dir.mkdir("run")
        let outcome = load("server:\n  pid_file: run/x.pid\n  workers: 0\n" + Self.minimal(), in: dir)
        #expect(outcome.config == nil)
        #expect(outcome.decoded.server.pidFile == dir.url("run/x.pid"))
        #expect(outcome.decoded.vhosts.count == 1)
    }
}

extension Config {
    /// Re-validates a decoded config on its own (used to show a valid config stays valid).
    fileprivate func revalidated() -> [Diagnostic] {
        var validator = ConfigValidator(config: self, diagnostics: Diagnostics(file: file))
        return validator.validate().items
    }
}
