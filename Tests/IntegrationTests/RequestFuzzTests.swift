import Foundation
import Glibc
import Testing

/// Generated request heads and bodies, well-formed and mutated byte by byte,
/// sent to the real binary: not one may kill its worker. 100,000 inputs per
/// run (about half a minute); `SWERVE_FUZZ_ROUNDS=1000000 make test` runs
/// longer (docs/architecture.md, "Fuzzing").
@Suite struct RequestFuzzTests {
    static let rounds = Int(ProcessInfo.processInfo.environment["SWERVE_FUZZ_ROUNDS"] ?? "") ?? 100_000

    static let config = """
        server:
          workers: 1
          timeouts: { header: 2s, body: 2s }
          limits: { max_header_size: 8KiB }
        logging:
          access_log: off
          error_log: {DIR}/error.log
        vhosts:
          - names: [localhost, "*.example.com"]
            listen: ["127.0.0.1:{PORT}"]
            root: {ROOT}
            error_pages: { 404: /404.html }
            routes:
              - path: /upload
                type: upload
                dir: {ROOT}/uploads
                max_size: 64KiB
              - path: /cgi-bin/
                type: script
                interpreters: { .sh: /bin/sh }
              - path: /
                type: static
                autoindex: true
                precompressed: true
        """

    static let files: [String: Data] = [
        "index.html": Data("<p>index</p>".utf8), "a.txt": Data("alpha".utf8), "a.txt.gz": Data("gz".utf8),
        "404.html": Data("missing".utf8), "big.bin": Data(count: 70_000), "dir/b.txt": Data("b".utf8),
        "uploads/.keep": Data(), "cgi-bin/hi.sh": Data("echo 'Content-Type: text/plain'\necho\necho hi\n".utf8),
    ]

    @Test func generatedRequestsNeverKillTheWorker() throws {
        let server = try TestServer(config: Self.config, files: Self.files)
        try server.start()
        let worker = try #require(server.workers.first)
        let port = server.port
        let threads = 4
        let perThread = Self.rounds / threads
        let answered = Atomic<Int>(0)
        let group = DispatchGroup()
        for thread in 0..<threads {
            DispatchQueue.global().async(group: group) {
                var random = SeededRandom(seed: UInt64(0xF0CC + thread))
                var count = 0
                for _ in 0..<perThread where Self.exchange(Self.input(&random), port: port) { count += 1 }
                answered.update { $0 += count }
            }
        }
        #expect(group.wait(timeout: .now() + 600) == .success, "the fuzz run took over 10 minutes")
        #expect(server.workers == [worker], "the worker died: \(server.errorLog.suffix(4000))")
        #expect(!server.errorLog.contains("died unexpectedly"))
        #expect(try server.get("/a.txt").text == "alpha")
        // Most inputs get an answer; the rest are closed on (or time out, for heads left incomplete).
        #expect(answered.value > Self.rounds / 2, "\(answered.value) of \(Self.rounds) answered")
    }

    /// Sends one input on a fresh connection, half-closes, reads to the end;
    /// true when some response came back. The connection ends with a reset so
    /// that a hundred thousand of them leave no TIME_WAIT behind.
    static func exchange(_ bytes: [UInt8], port: Int) -> Bool {
        guard let connection = try? RawConnection(port: port, readTimeout: 3) else { return false }
        defer { connection.resetNow() }
        guard (try? connection.send(bytes)) != nil else { return false }
        shutdown(connection.fd, Int32(SHUT_WR))
        guard let reply = try? connection.readToEnd() else { return false }
        return reply.starts(with: Array("HTTP/1.".utf8))
    }

    // MARK: generation

    static let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH", "get", "G ET", "GÉT", ""]
    static let targets = [
        "/", "/a.txt", "/big.bin", "/dir", "/dir/", "/dir/b.txt", "/missing", "/.hidden", "/.well-known/x", "/upload",
        "/cgi-bin/hi.sh", "/cgi-bin/hi.sh/extra?q=1", "/cgi-bin/nope.sh", "/%2e%2e/%2e%2e/etc/passwd", "/a%00b", "/%ff",
        "/..", "/a/../../b", "//a.txt", "/a.txt?x=%zz", "*", "http://other.example.com/a.txt", "https://localhost:1/",
        "http://[::1]/", "http://a/b/../c", "example.com:443", "/" + String(repeating: "x", count: 9000), "/ä", "/a b",
    ]
    static let versions = ["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.10", "http/1.1", "HTTP/1.1 extra", ""]
    static let headers: [String] = [
        "Host: localhost", "Host: x.example.com", "Host: ", "Host: a/b", "Host: [::1]:80", "Host: localhost:99999",
        "Host: localhost", "Host: \u{e9}", "Content-Length: 0", "Content-Length: 5", "Content-Length: -1",
        "Content-Length: 99999999999999999999", "Content-Length: 1, 2", "Transfer-Encoding: chunked",
        "Transfer-Encoding: gzip, chunked", "Transfer-Encoding: identity", "Expect: 100-continue", "Expect: nothing",
        "Range: bytes=0-9", "Range: bytes=-5", "Range: bytes=99999999999999999999-", "Range: bytes=5-1,7-",
        "Range: bytes=0-0,1-1,2-2", "If-Range: \"x\"", "If-Range: Sun, 06 Nov 2147485548 08:49:37 GMT",
        "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT", "If-Modified-Since: Sunday, 06-Nov-9223372036854775807 08:49:37 GMT",
        "If-None-Match: *", "If-None-Match: W/\"a\", \"b\"", "Accept-Encoding: gzip;q=0, br;q=1.5, *", "Accept-Encoding: ;;;,",
        "Connection: close", "Connection: keep-alive, upgrade", "Upgrade: h2c", "Cookie: a=1; b=2", "X-Weird_Name: 1",
        "Content-Type: multipart/form-data; boundary=B", "Content-Type: multipart/form-data; boundary=\"\"",
        "Content-Type: multipart/form-data", "Referer: \u{1b}[31m", "User-Agent: " + String(repeating: "u", count: 9000),
        "X-\u{ff}: y", ": empty name", "NoColon", " leading: space",
    ]
    static let bodies: [String] = [
        "", "hello", "0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", "zz\r\n", "ffffffffffffffffff\r\n",
        "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nx\r\n--B--\r\n",
        "--B\r\n\u{ff}: y\r\n\r\nx\r\n--B--\r\n", "--B\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nv\r\n--B",
        "--B\r\nContent-Disposition: form-data; filename=\"\u{307}.x\"\r\nContent-Type: a\nb\r\n\r\n\r\n--B--",
    ]

    /// A head from the grammar above, then (usually) a few bytes flipped, inserted, dropped or cut.
    static func input(_ random: inout SeededRandom) -> [UInt8] {
        var text = "\(methods.randomElement(using: &random)!) \(targets.randomElement(using: &random)!) \(versions.randomElement(using: &random)!)\r\n"
        for _ in 0..<Int.random(in: 0...6, using: &random) { text += headers.randomElement(using: &random)! + "\r\n" }
        text += "\r\n" + bodies.randomElement(using: &random)!
        var bytes = Array(text.utf8)
        let alphabet: [UInt8] = Array("\r\n :/%-.0;,\"=".utf8) + [0, 0x7F, 0x80, 0xC3, 0xFF, 9]
        for _ in 0..<Int.random(in: 0...3, using: &random) where !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes[at] = alphabet.randomElement(using: &random)!
            case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: at)
            case 2: bytes.remove(at: at)
            default: bytes = Array(bytes.prefix(at))
            }
        }
        return bytes
    }
}

/// SplitMix64, seeded: the same inputs on every run.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
