import Foundation
import Testing
import SwerveConfig

/// Every kind of config error, each at its exact line and column (1-based),
/// checked through the printed `FILE:LINE:COL: error: MESSAGE` form.
@Suite("Diagnostics")
struct DiagnosticsTests {
    static let serverKeys = "workers, user, group, pid_file, shutdown_timeout, max_connections, backlog, http2, timeouts, limits"

    /// Loads `yaml` against a fresh site and expects exactly `expected` (in file order) and no config.
    func expectErrors(
        _ yaml: String, _ expected: [String], setUp: (TempDir) throws -> Void = { _ in },
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let dir = try TempDir().site()
        try setUp(dir)
        let outcome = load(yaml, in: dir)
        let resolved = expected.map { $0.replacingOccurrences(of: "$TMP", with: dir.path) }
        #expect(outcome.printed == resolved, sourceLocation: sourceLocation)
        #expect(outcome.config == nil, sourceLocation: sourceLocation)
    }

    // MARK: format

    @Test func descriptionFormat() {
        let diagnostic = Diagnostic(.error, file: "config/config.yaml", at: at(12, 9), "unknown key 'x'")
        #expect(diagnostic.description == "config/config.yaml:12:9: error: unknown key 'x'")
        let warning = Diagnostic(.warning, file: "c.yaml", at: at(1, 1), "careful")
        #expect(warning.description == "c.yaml:1:1: warning: careful")
    }

    @Test func sortedIsFileOrderAndStable() {
        var diagnostics = Diagnostics(file: "f")
        diagnostics.error("third", at: at(3, 1))
        diagnostics.warning("first", at: at(1, 5))
        diagnostics.error("second-a", at: at(2, 2))
        diagnostics.error("second-b", at: at(2, 2))
        diagnostics.error("before-first", at: at(1, 2))
        #expect(diagnostics.sorted.map(\.message) == ["before-first", "first", "second-a", "second-b", "third"])
        #expect(diagnostics.errors.count == 4)
        #expect(diagnostics.warnings.map(\.message) == ["first"])
        #expect(diagnostics.hasErrors)
        #expect(!Diagnostics(file: "f").hasErrors)
    }

    @Test func fileNameIsPrintedAsGiven() throws {
        let dir = try TempDir().site()
        let outcome = ConfigLoader.load(text: "server:\n  workers: 0\n" + DecoderTests.minimal(), file: "config/config.yaml", directory: dir.path)
        #expect(outcome.printed.first == "config/config.yaml:2:12: error: 'workers' must be between 1 and 1024, found '0'")
    }

    // MARK: unknown keys

    @Test func unknownKeyWithHint() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /upload
                    type: upload
                    dir: www/uploads
                    max_sise: 20MiB
            """, ["config.yaml:8:9: error: unknown key 'max_sise' in an upload route; did you mean 'max_size'?"])
    }

    @Test func unknownKeyWithoutNearMatch() throws {
        try expectErrors("""
            server:
              frobnicate: 3
            vhosts:
              - listen: [8080]
                root: www
            """, ["config.yaml:2:3: error: unknown key 'frobnicate' in server (known keys: \(Self.serverKeys))"])
    }

    @Test func misspelledTopLevelKey() throws {
        try expectErrors("""
            vhost:
              - listen: [8080]
                root: www
            """, [
                "config.yaml:1:1: error: unknown key 'vhost' in the config; did you mean 'vhosts'?",
                "config.yaml:1:1: error: missing key 'vhosts': the config must define at least one virtual host",
            ])
    }

    @Test func misspelledNestedKeys() throws {
        try expectErrors("""
            server:
              timeouts:
                keepalve: 5s
            logging:
              levle: debug
            vhosts:
              - listen: [8080]
                rooot: www
            """, [
                "config.yaml:3:5: error: unknown key 'keepalve' in server.timeouts; did you mean 'keepalive'?",
                "config.yaml:5:3: error: unknown key 'levle' in logging; did you mean 'level'?",
                "config.yaml:7:5: error: missing key 'root' in a vhost",
                "config.yaml:8:5: error: unknown key 'rooot' in a vhost; did you mean 'root'?",
            ])
    }

    // MARK: wrong types

    @Test func wrongTypes() throws {
        try expectErrors("""
            server:
              timeouts: 5s
            logging: stdout
            vhosts:
              - names: { a: b }
                listen: [[8080]]
                root: { dir: www }
                index: [[index.html]]
                routes: /
            """, [
                "config.yaml:2:13: error: server.timeouts must be a mapping, found a scalar",
                "config.yaml:3:10: error: logging must be a mapping, found a scalar",
                "config.yaml:5:12: error: 'names' must be a list, found a mapping",
                "config.yaml:6:14: error: 'listen' must be a string, found a list",
                "config.yaml:7:11: error: 'root' must be a string, found a mapping",
                "config.yaml:8:13: error: 'index' must be a string, found a list",
                "config.yaml:9:13: error: 'routes' must be a list, found a scalar",
            ])
    }

    @Test func collectionWhereANumberIsExpected() throws {
        let dir = try TempDir().site()
        let outcome = load("server:\n  workers: [1, 2]\n  max_connections: {a: 1}\n" + DecoderTests.minimal(), in: dir)
        #expect(outcome.config == nil)
        let errors = outcome.diagnostics.sorted
        #expect(errors.map(\.mark) == [at(2, 12), at(3, 20)])
        #expect(errors.count == 2)
        #expect(errors.first?.message.hasPrefix("'workers' must be") == true)
        #expect(errors.first?.message.hasSuffix("found a list") == true)
        #expect(errors.last?.message.hasPrefix("'max_connections' must be") == true)
        #expect(errors.last?.message.hasSuffix("found a mapping") == true)
    }

    @Test func wrongShapesOfTheWholeFile() throws {
        try expectErrors("just a string\n", ["config.yaml:1:1: error: the config must be a mapping, found a scalar"])
        try expectErrors("- a\n- b\n", ["config.yaml:1:1: error: the config must be a mapping, found a list"])
        try expectErrors("vhosts: {}\n", ["config.yaml:1:9: error: 'vhosts' must be a list of virtual hosts, found a mapping"])
        try expectErrors("vhosts: []\n", ["config.yaml:1:9: error: 'vhosts' is empty: the config must define at least one virtual host"])
        try expectErrors("vhosts:\n  - www\n", ["config.yaml:2:5: error: a vhost must be a mapping, found a scalar"])
    }

    @Test func nonScalarKey() throws {
        try expectErrors("? [a, b]\n: c\nvhosts:\n  - listen: [8080]\n    root: www\n", [
            "config.yaml:1:3: error: keys in the config must be plain words, found a list",
        ])
    }

    @Test func booleansAndChoices() throws {
        try expectErrors("""
            logging:
              level: warnig
              format: jsn
            vhosts:
              - listen: [8080]
                root: www
                default: maybe
            """, [
                "config.yaml:2:10: error: 'level' must be one of debug, info, warning, error, found 'warnig'; did you mean 'warning'?",
                "config.yaml:3:11: error: 'format' must be one of combined, json, found 'jsn'; did you mean 'json'?",
                "config.yaml:7:14: error: 'default' must be true or false, found 'maybe'",
            ])
    }

    // MARK: impossible values

    @Test func portsOutOfRange() throws {
        try expectErrors("""
            vhosts:
              - listen: [0, "127.0.0.1:70000"]
                root: www
            """, [
                "config.yaml:2:14: error: port 0 is out of range (1-65535)",
                "config.yaml:2:17: error: port 70000 is out of range (1-65535)",
            ])
    }

    @Test func workersZero() throws {
        try expectErrors("server:\n  workers: 0\n" + DecoderTests.minimal(), [
            "config.yaml:2:12: error: 'workers' must be between 1 and 1024, found '0'",
        ])
        try expectErrors("server:\n  workers: many\n" + DecoderTests.minimal(), [
            "config.yaml:2:12: error: 'workers' must be an integer, found 'many'",
        ])
    }

    @Test func unparsableSizeAndDuration() throws {
        try expectErrors("""
            server:
              shutdown_timeout: soon
              timeouts:
                header: 10x
              limits:
                max_header_size: 12XB
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /up
                    type: upload
                    dir: www/uploads
                    max_size: 1.5M
            """, [
                "config.yaml:2:21: error: 'shutdown_timeout': invalid duration 'soon' (use ms, s, m, h or d, e.g. 30s)",
                "config.yaml:4:13: error: 'header': invalid duration '10x' (use ms, s, m, h or d, e.g. 30s)",
                "config.yaml:6:22: error: 'max_header_size': invalid size '12XB' (use a number with B, K, KiB, M, MiB, G or GiB)",
                "config.yaml:14:19: error: 'max_size': invalid size '1.5M' (use a whole number, e.g. 1536K instead of 1.5M)",
            ])
    }

    @Test func sizesAndDurationsOutOfRange() throws {
        try expectErrors("""
            server:
              shutdown_timeout: 0s
              limits:
                max_header_size: 100
            """ + "\n" + DecoderTests.minimal(), [
                "config.yaml:2:21: error: 'shutdown_timeout' must be longer than zero, found '0s'",
                "config.yaml:4:22: error: 'max_header_size' must be between 1KiB and 1MiB, found '100'",
            ])
    }

    // MARK: files and folders

    @Test func missingRootKey() throws {
        try expectErrors("vhosts:\n  - listen: [8080]\n", ["config.yaml:2:5: error: missing key 'root' in a vhost"])
        try expectErrors("vhosts:\n  - listen: [8080]\n    root:\n", ["config.yaml:3:5: error: 'root' has no value"])
    }

    @Test func missingRootFolder() throws {
        try expectErrors("vhosts:\n  - listen: [8080]\n    root: nope\n", [
            "config.yaml:3:11: error: root '$TMP/nope' does not exist",
        ])
    }

    @Test func rootThatIsAFile() throws {
        try expectErrors("vhosts:\n  - listen: [8080]\n    root: www/index.html\n", [
            "config.yaml:3:11: error: root '$TMP/www/index.html' is not a folder",
        ])
    }

    @Test func missingUploadDir() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /up
                    type: upload
                    dir: www/nope
            """, ["config.yaml:7:14: error: upload dir '$TMP/www/nope' does not exist"])
    }

    @Test func uploadWithoutDir() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /up
                    type: upload
            """, ["config.yaml:5:9: error: missing key 'dir' in an upload route"])
    }

    @Test func missingScriptDir() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /scripts/
                    type: script
            """, ["config.yaml:5:15: error: script dir '$TMP/www/scripts' does not exist"])
    }

    @Test func uploadDirEqualToScriptDir() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /cgi-bin/
                    type: script
                    dir: www/cgi-bin
                  - path: /up
                    type: upload
                    dir: www/cgi-bin
            """, [
                "config.yaml:10:14: error: upload dir '$TMP/www/cgi-bin' lies inside script dir '$TMP/www/cgi-bin': uploaded files could be run",
            ])
    }

    @Test func uploadDirInsideScriptDir() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /up
                    type: upload
                    dir: www/cgi-bin/incoming
                  - path: /cgi-bin/
                    type: script
            """, [
                "config.yaml:7:14: error: upload dir '$TMP/www/cgi-bin/incoming' lies inside script dir '$TMP/www/cgi-bin': uploaded files could be run",
            ], setUp: { try $0.mkdir("www/cgi-bin/incoming") })
    }

    @Test func uploadDirReachingAScriptDirThroughASymlink() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /up
                    type: upload
                    dir: www/link
                  - path: /cgi-bin/
                    type: script
            """, [
                "config.yaml:7:14: error: upload dir '$TMP/www/link' lies inside script dir '$TMP/www/cgi-bin': uploaded files could be run",
            ], setUp: { dir in
                #expect(symlink(dir.url("www/cgi-bin"), dir.url("www/link")) == 0)
            })
    }

    @Test func uploadDirNextToScriptDirIsFine() throws {
        let dir = try TempDir().site()
        try dir.mkdir("www/cgi-bin-uploads")
        let outcome = load("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /up
                    type: upload
                    dir: www/cgi-bin-uploads
                  - path: /cgi-bin/
                    type: script
            """, in: dir)
        #expect(outcome.printed == [])
        #expect(outcome.config != nil)
    }

    @Test func uploadDirInAScriptDirOfAnotherVhost() throws {
        try expectErrors("""
            vhosts:
              - names: [a.test]
                listen: [8080]
                root: www
                routes:
                  - path: /cgi-bin/
                    type: script
              - names: [b.test]
                listen: [8081]
                root: www
                routes:
                  - path: /up
                    type: upload
                    dir: www/cgi-bin
            """, [
                "config.yaml:14:14: error: upload dir '$TMP/www/cgi-bin' lies inside script dir '$TMP/www/cgi-bin': uploaded files could be run",
            ])
    }

    @Test func pidFileAndLogFolders() throws {
        try expectErrors("""
            server:
              pid_file: nope/swerve.pid
            logging:
              access_log: nope/access.log
              error_log: /nonexistent-swerve-test/error.log
            """ + "\n" + DecoderTests.minimal(), [
                "config.yaml:2:13: error: server.pid_file '$TMP/nope/swerve.pid': folder '$TMP/nope' does not exist",
                "config.yaml:4:15: error: logging.access_log '$TMP/nope/access.log': folder '$TMP/nope' does not exist",
                "config.yaml:5:14: error: logging.error_log '/nonexistent-swerve-test/error.log': folder '/nonexistent-swerve-test' does not exist",
            ])
    }

    @Test func unknownUserAndGroup() throws {
        try expectErrors("""
            server:
              user: swerve-test-no-such-user
              group: swerve-test-no-such-group
            """ + "\n" + DecoderTests.minimal(), [
                "config.yaml:2:9: error: server.user 'swerve-test-no-such-user' does not exist on this system",
                "config.yaml:3:10: error: server.group 'swerve-test-no-such-group' does not exist on this system",
            ])
    }

    // MARK: listeners

    @Test func twoVhostsClaimingTheSameName() throws {
        try expectErrors("""
            vhosts:
              - names: [localhost, a.test]
                listen: [8080]
                root: www
              - names: [b.test, LOCALHOST]
                listen: ["0.0.0.0:8080"]
                root: www
            """, [
                "config.yaml:5:21: error: name 'localhost' is already claimed on 0.0.0.0:8080 by the vhost at 2:13",
            ])
    }

    @Test func sameNameOnDifferentListenersIsFine() throws {
        let dir = try TempDir().site()
        let outcome = load("""
            vhosts:
              - names: [localhost]
                listen: [8080]
                root: www
              - names: [localhost]
                listen: [8081]
                root: www
            """, in: dir)
        #expect(outcome.printed == [])
        #expect(outcome.config?.vhosts.count == 2)
    }

    @Test func sameWildcardNameTwice() throws {
        try expectErrors("""
            vhosts:
              - names: ["*.example.com"]
                listen: ["[::1]:8080"]
                root: www
              - names: ["*.EXAMPLE.com"]
                listen: ["[::1]:8080"]
                root: www
            """, [
                "config.yaml:5:13: error: name '*.example.com' is already claimed on [::1]:8080 by the vhost at 2:13",
            ])
    }

    @Test func twoDefaultsOnOneListener() throws {
        try expectErrors("""
            vhosts:
              - names: [a.test]
                default: true
                listen: [8080]
                root: www
              - names: [b.test]
                default: true
                listen: [8080]
                root: www
            """, [
                "config.yaml:7:14: error: a second 'default: true' on 0.0.0.0:8080 (the first is at 3:14)",
            ])
    }

    @Test func wildcardAndSpecificAddressOnOnePort() throws {
        try expectErrors("""
            vhosts:
              - names: [a.test]
                listen: [8080]
                root: www
              - names: [b.test]
                listen: ["127.0.0.1:8080"]
                root: www
            """, [
                "config.yaml:6:14: error: 127.0.0.1:8080 overlaps 0.0.0.0:8080 (at 3:14): listen on the same address in every vhost of port 8080",
            ])
    }

    // MARK: routes

    @Test func staticRouteWithUploadKey() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /
                    type: static
                    max_size: 1MiB
                    dir: www
            """, [
                "config.yaml:7:9: error: key 'max_size' is not used by a static route (it is an option of upload routes)",
                "config.yaml:8:9: error: key 'dir' is not used by a static route (it is an option of upload and script routes)",
            ])
    }

    @Test func scriptRouteWithStaticKey() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /cgi-bin/
                    type: script
                    autoindex: true
            """, [
                "config.yaml:7:9: error: key 'autoindex' is not used by a script route (it is an option of static routes)",
            ])
    }

    @Test func duplicateRoutePaths() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /a
                    type: static
                  - path: /a
                    type: static
            """, ["config.yaml:7:15: error: duplicate route path '/a' in this vhost (first at 5:15)"])
    }

    @Test func duplicateKeys() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                root: www
            """, ["config.yaml:4:5: error: duplicate key 'root' in a vhost (first at 3:5)"])
        try expectErrors("""
            server:
              workers: 2
            server:
              workers: 3
            vhosts:
              - listen: [8080]
                root: www
            """, ["config.yaml:3:1: error: duplicate key 'server' in the config (first at 1:1)"])
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /cgi-bin/
                    type: script
                    env: { A: "1", A: "2" }
            """, ["config.yaml:7:24: error: duplicate key 'A' in 'env' (first at 7:16)"])
    }

    @Test func missingType() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /
                    autoindex: true
            """, ["config.yaml:5:9: error: missing key 'type' in a route (static, upload or script)"])
    }

    @Test func unknownRouteType() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /
                    type: statik
                  - path: /x
                    type: proxy
            """, [
                "config.yaml:6:15: error: unknown route type 'statik' (use static, upload or script); did you mean 'static'?",
                "config.yaml:8:15: error: unknown route type 'proxy' (use static, upload or script)",
            ])
    }

    @Test func routePathMustStartWithSlash() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: static
                    type: static
            """, ["config.yaml:5:15: error: route path 'static' must start with '/'"])
    }

    // MARK: whole file

    @Test func missingVhosts() throws {
        try expectErrors("server:\n  workers: 2\n", [
            "config.yaml:1:1: error: missing key 'vhosts': the config must define at least one virtual host",
        ])
        try expectErrors("# settings\n\nserver:\n  workers: 2\n", [
            "config.yaml:3:1: error: missing key 'vhosts': the config must define at least one virtual host",
        ])
    }

    @Test(arguments: ["", "# nothing here\n", "\n\n\n"])
    func emptyFile(text: String) throws {
        try expectErrors(text, ["config.yaml:1:1: error: the config is empty; it needs at least a 'vhosts' list"])
    }

    @Test func yamlErrorsArePrintedWithTheirPosition() throws {
        try expectErrors("server:\n\tworkers: 1\n", [
            "config.yaml:2:1: error: YAML syntax: found character that cannot start any token (while scanning for the next token); tabs are not allowed for indentation in YAML, use spaces",
        ])
    }

    // MARK: warnings

    @Test func interpreterNotOnPathIsAWarning() throws {
        let dir = try TempDir().site()
        let outcome = load("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /cgi-bin/
                    type: script
                    interpreters:
                      .sh: /bin/sh
                      .zz: swerve-test-no-such-interpreter
            """, in: dir)
        #expect(outcome.config != nil)
        #expect(outcome.diagnostics.errors.isEmpty)
        let warnings = outcome.diagnostics.warnings
        #expect(warnings.count == 1)
        let warning = try #require(warnings.first)
        #expect(warning.message == "interpreter 'swerve-test-no-such-interpreter' for '.zz' scripts is not found on PATH")
        #expect(warning.severity == .warning)
        // The problem is the entry `.zz: swerve-test-…` on line 9 (its key or its value).
        #expect(warning.mark.line == 9)
        #expect([11, 16].contains(warning.mark.column), "at \(warning.mark)")
    }

    @Test func aBlankInterpreterIsAnError() throws {
        // "  " passed as a non-empty command and crashed the worker at the first request.
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /cgi-bin/
                    type: script
                    interpreters: { .py: "  " }
            """, ["config.yaml:7:25: error: the interpreter for '.py' is empty"])
    }

    @Test func interpreterSearchUsesTheRoutesPath() throws {
        let dir = try TempDir().site()
        try dir.write("bin/myinterp", "#!/bin/sh\n")
        #expect(chmod(dir.url("bin/myinterp"), 0o755) == 0)
        let outcome = load("""
            vhosts:
              - listen: [8080]
                root: www
                routes:
                  - path: /cgi-bin/
                    type: script
                    interpreters: { .x: myinterp }
                    env: { PATH: "\(dir.url("bin"))" }
            """, in: dir)
        #expect(outcome.printed == [])
        #expect(outcome.config != nil)
    }

    @Test func errorPageFileMissing() throws {
        let dir = try TempDir().site()
        try dir.write("www/errors/500.html", "oops")
        let outcome = load("""
            vhosts:
              - listen: [8080]
                root: www
                error_pages:
                  500: /errors/500.html
                  404: /errors/404.html
            """, in: dir)
        #expect(outcome.config == nil)
        let errors = outcome.diagnostics.errors
        #expect(errors.count == 1)
        let error = try #require(errors.first)
        #expect(error.message == "error page for 404 '/errors/404.html' does not exist under the root ('\(dir.path)/www/errors/404.html')")
        // The entry `404: /errors/404.html` is on line 6 (key at column 7, value at 12).
        #expect(error.mark.line == 6)
        #expect([7, 12].contains(error.mark.column), "at \(error.mark)")
    }

    @Test func errorPageSymlinkedOutOfTheRoot() throws {
        // check passed it, and every 404 served /etc/passwd.
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                error_pages:
                  404: /errors/404.html
            """, ["config.yaml:5:7: error: error page for 404 '/errors/404.html' leads outside the root through a symlink"]) { dir in
            try FileManager.default.createDirectory(atPath: dir.url("www/errors"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: dir.url("www/errors/404.html"), withDestinationPath: "/etc/passwd")
        }
    }

    @Test func errorPageOutsideTheRoot() throws {
        let dir = try TempDir().site()
        let outcome = load("""
            vhosts:
              - listen: [8080]
                root: www
                error_pages: { 404: /../../etc/passwd }
            """, in: dir)
        #expect(outcome.config == nil)
        #expect(outcome.diagnostics.errors.map(\.message) == ["error page for 404 '/../../etc/passwd' lies outside the root"])
        #expect(outcome.diagnostics.errors.first?.mark.line == 4)
    }

    @Test func errorPageKeysAndPaths() throws {
        try expectErrors("""
            vhosts:
              - listen: [8080]
                root: www
                error_pages:
                  200: /index.html
                  404: index.html
            """, [
                "config.yaml:5:7: error: error_pages keys are status codes from 300 to 599, found '200'",
                "config.yaml:6:7: error: error page 'index.html' must be a path under the root starting with '/'",
            ])
    }

    // MARK: all at once

    @Test func everyErrorIsReportedInFileOrder() throws {
        try expectErrors("""
            server:
              workers: 0
              shutdown_timeout: soon
              frobnicate: blue
            logging:
              level: loud
            vhosts:
              - names: [a.test]
                listen: [70000]
                root: nope
                routes:
                  - path: /up
                    type: upload
                    dir: www/uploads
                    max_sise: 1M
                  - path: /
                    type: statik
              - names: [b.test]
                listen: [8080]
                root: www
                root: www
            """, [
                "config.yaml:2:12: error: 'workers' must be between 1 and 1024, found '0'",
                "config.yaml:3:21: error: 'shutdown_timeout': invalid duration 'soon' (use ms, s, m, h or d, e.g. 30s)",
                "config.yaml:4:3: error: unknown key 'frobnicate' in server (known keys: \(Self.serverKeys))",
                "config.yaml:6:10: error: 'level' must be one of debug, info, warning, error, found 'loud'",
                "config.yaml:9:14: error: port 70000 is out of range (1-65535)",
                "config.yaml:10:11: error: root '$TMP/nope' does not exist",
                "config.yaml:15:9: error: unknown key 'max_sise' in an upload route; did you mean 'max_size'?",
                "config.yaml:17:15: error: unknown route type 'statik' (use static, upload or script); did you mean 'static'?",
                "config.yaml:21:5: error: duplicate key 'root' in a vhost (first at 20:5)",
            ])
    }
}
