import Foundation
import Glibc
import Testing

/// SPEC §4.2 against the real binary: multipart bodies built here, sent over raw sockets.
@Suite struct UploadTests {
    static func config(upload: String = "", workers: Int = 1) -> String {
        """
        server:
          workers: \(workers)
        logging:
          access_log: {DIR}/access.log
          error_log: {DIR}/error.log
        vhosts:
          - names: [localhost]
            listen: ["127.0.0.1:{PORT}"]
            root: {ROOT}
            routes:
              - path: /upload
                type: upload
                dir: {ROOT}/uploads
        \(upload)
              - path: /
                type: static
        """
    }

    private func start(_ upload: String = "", workers: Int = 1) throws -> TestServer {
        let server = try TestServer(config: Self.config(upload: upload, workers: workers), files: ["uploads/.keep": Data()])
        try server.start()
        return server
    }

    /// One multipart body: (field name, file name or nil for a field, content type, bytes).
    static func multipart(_ parts: [(String, String?, String, [UInt8])], boundary: String = "swerveTestBoundary7MA4YWxk") -> [UInt8] {
        var body: [UInt8] = []
        for (name, filename, type, bytes) in parts {
            var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\""
            if let filename { head += "; filename=\"\(filename.replacingOccurrences(of: "\"", with: "\\\""))\"\r\nContent-Type: \(type)" }
            head += "\r\n\r\n"
            body += Array(head.utf8) + bytes + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return body
    }

    private func post(_ server: TestServer, _ body: [UInt8], path: String = "/upload", boundary: String = "swerveTestBoundary7MA4YWxk") throws -> HTTPTestResponse {
        let connection = try server.connect()
        try connection.send("POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(body.count)\r\n\r\n")
        try connection.send(body)
        return try connection.readResponse()
    }

    /// What the upload folder holds (sidecars as ".meta/NAME.json"), sorted.
    private func stored(_ server: TestServer) -> [String] {
        let uploads = server.root.appendingPathComponent("uploads")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: uploads.path)) ?? []).filter { $0 != ".keep" && $0 != ".meta" }
        let sidecars = ((try? FileManager.default.contentsOfDirectory(atPath: uploads.appendingPathComponent(".meta").path)) ?? []).map { ".meta/" + $0 }
        return (names + sidecars).sorted()
    }

    private func json(_ response: HTTPTestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    static func bytes(_ count: Int, seed: Int = 7) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761) >> 7 &+ seed) }
    }

    @Test func oneFileWithAFieldIsStoredWithItsSidecar() throws {
        let server = try start()
        let photo = Self.bytes(100_000)
        let response = try post(server, Self.multipart([("title", nil, "", Array("Dög <3".utf8)), ("file", "Photo.JPG", "image/jpeg", photo)]))
        #expect(response.status == 201)
        #expect(response.header("content-type") == "application/json")
        let answer = try json(response)
        let files = try #require(answer["files"] as? [[String: Any]])
        #expect(files.count == 1)
        #expect(files.first?["name"] as? String == "Photo.jpg")
        #expect(files.first?["url"] as? String == "/uploads/Photo.jpg")
        #expect(files.first?["size"] as? Int == photo.count)
        let digest = try #require(files.first?["sha256"] as? String)
        #expect((answer["fields"] as? [String: String]) == ["title": "Dög <3"])
        #expect(stored(server) == [".meta/Photo.jpg.json", "Photo.jpg"])
        let file = server.root.appendingPathComponent("uploads/Photo.jpg")
        #expect(try Array(Data(contentsOf: file)) == photo)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o640)
        let sidecar = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: server.root.appendingPathComponent("uploads/.meta/Photo.jpg.json"))) as? [String: Any])
        #expect(sidecar["original_name"] as? String == "Photo.JPG")
        #expect(sidecar["stored_name"] as? String == "Photo.jpg")
        #expect(sidecar["content_type"] as? String == "image/jpeg")
        #expect(sidecar["size"] as? Int == photo.count)
        #expect(sidecar["sha256"] as? String == digest)
        #expect((sidecar["uploaded_at"] as? String)?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil)
        #expect((sidecar["fields"] as? [String: String]) == ["title": "Dög <3"])
        // Served back by the static route, byte for byte; the sidecar (every form field) is not served.
        #expect(try server.get("/uploads/Photo.jpg").body == photo)
        #expect(try server.get("/uploads/.meta/Photo.jpg.json").status == 404)
        #expect(try server.get("/uploads/Photo.jpg.json").status == 404)
        // The digest is the real SHA-256 of the bytes.
        let shasum = Process()
        shasum.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        shasum.arguments = [file.path]
        let pipe = Pipe()
        shasum.standardOutput = pipe
        try shasum.run()
        shasum.waitUntilExit()
        #expect(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).hasPrefix(digest))
    }

    @Test func threeFilesAreStored() throws {
        let server = try start()
        let parts = (1...3).map { ("file\($0)", "f\($0).bin", "application/octet-stream", Self.bytes(5000 * $0, seed: $0)) }
        let response = try post(server, Self.multipart(parts))
        #expect(response.status == 201)
        #expect(stored(server) == [".meta/f1.bin.json", ".meta/f2.bin.json", ".meta/f3.bin.json", "f1.bin", "f2.bin", "f3.bin"])
        for index in 1...3 {
            #expect(try Array(Data(contentsOf: server.root.appendingPathComponent("uploads/f\(index).bin"))) == Self.bytes(5000 * index, seed: index))
        }
    }

    @Test func hostileNamesAreMadeSafe() throws {
        let server = try start("        metadata: false")
        let names = ["../../etc/passwd", "..", ".htaccess", "a/b\\c.TXT", String(repeating: "x", count: 300) + ".bin",
                     "evil\u{202E}gpj.exe", "tab\u{9}byte.txt"]  // NUL, LF and other controls in a part header: 400 (hostilePartHeaders…)
        let response = try post(server, Self.multipart(names.map { ("file", $0, "text/plain", Array("x".utf8)) }))
        #expect(response.status == 201)
        let files = try #require(try json(response)["files"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        #expect(files.count == names.count)
        #expect(files.contains("passwd") && files.contains("upload") && files.contains("htaccess") && files.contains("c.txt"))
        for name in files {
            #expect(!name.hasPrefix(".") && !name.contains("/") && !name.contains("\\") && !name.contains("\t") && !name.contains("\u{202E}"))
            #expect(name.utf8.count <= 200)
        }
        #expect(Set(stored(server)) == Set(files))
        #expect(!FileManager.default.fileExists(atPath: "/etc/passwd.json") && !FileManager.default.fileExists(atPath: "/etc/.meta"))
    }

    @Test func sameNameTwiceNeverOverwrites() throws {
        let server = try start()
        #expect(try post(server, Self.multipart([("file", "photo.png", "image/png", Self.bytes(10, seed: 1))])).status == 201)
        #expect(try post(server, Self.multipart([("file", "photo.png", "image/png", Self.bytes(10, seed: 2))])).status == 201)
        #expect(stored(server) == [".meta/photo-1.png.json", ".meta/photo.png.json", "photo-1.png", "photo.png"])
        #expect(try Array(Data(contentsOf: server.root.appendingPathComponent("uploads/photo.png"))) == Self.bytes(10, seed: 1))
    }

    @Test func concurrentUploadsOfOneNameFromTwoWorkersAllSurvive() throws {
        let server = try start(workers: 2)
        let port = server.port
        let count = 16
        let statuses = Atomic<[Int]>([])
        let threads = (0..<count).map { index in
            Thread {
                let body = Self.multipart([("file", "same.bin", "application/octet-stream", Self.bytes(20_000, seed: index))])
                let status: Int
                do {
                    let connection = try RawConnection(port: port)
                    try connection.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=swerveTestBoundary7MA4YWxk\r\nContent-Length: \(body.count)\r\n\r\n")
                    try connection.send(body)
                    status = try connection.readResponse().status
                } catch {
                    status = -1
                }
                statuses.update { $0.append(status) }
            }
        }
        threads.forEach { $0.start() }
        try waitUntil("all uploads are answered", timeout: 30) { statuses.value.count == count }
        #expect(statuses.value.allSatisfy { $0 == 201 })
        let files = stored(server).filter { !$0.hasSuffix(".json") }
        #expect(files.count == count)
        // Every client's bytes are stored whole, under one name each.
        let contents = Set(try files.map { try Data(contentsOf: server.root.appendingPathComponent("uploads/\($0)")) })
        #expect(contents == Set((0..<count).map { Data(Self.bytes(20_000, seed: $0)) }))
    }

    @Test func declaredBodyOverMaxSizeIs413BeforeReading() throws {
        let server = try start("        max_size: 1KiB")
        let connection = try server.connect()
        try connection.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n")
        let response = try connection.readResponse()
        #expect(response.status == 413)
        #expect(stored(server).isEmpty)
    }

    @Test func streamedBodyOverMaxSizeIs413AndLeavesNothing() throws {
        let server = try start("        max_size: 64KiB")
        let body = Self.multipart([("file", "big.bin", "application/octet-stream", Self.bytes(200_000))])
        let connection = try server.connect()
        try connection.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=swerveTestBoundary7MA4YWxk\r\nTransfer-Encoding: chunked\r\n\r\n")
        var sent = 0
        while sent < body.count {
            let chunk = body[sent..<min(sent + 16384, body.count)]
            do {
                try connection.send(Array(String(chunk.count, radix: 16).utf8) + [13, 10] + Array(chunk) + [13, 10])
            } catch { break }  // the server may stop reading once it has refused
            sent += chunk.count
        }
        try? connection.send("0\r\n\r\n")
        #expect(try connection.readResponse().status == 413)
        try waitUntil("temporary files are removed", timeout: 15) { self.stored(server).isEmpty }
    }

    @Test func tooManyFilesIs413AndKeepsNothing() throws {
        let server = try start("        max_files: 2")
        let parts = (1...3).map { ("file", "f\($0).bin", "application/octet-stream", Self.bytes(1000)) }
        #expect(try post(server, Self.multipart(parts)).status == 413)
        try waitUntil("temporary files are removed", timeout: 15) { self.stored(server).isEmpty }
    }

    @Test func typeOutsideAcceptIs415AndKeepsNothing() throws {
        let server = try start("        accept: [image/*]")
        let parts = [("a", "ok.png", "image/png", Self.bytes(1000)), ("b", "no.pdf", "application/pdf", Self.bytes(1000))]
        #expect(try post(server, Self.multipart(parts)).status == 415)
        try waitUntil("temporary files are removed", timeout: 15) { self.stored(server).isEmpty }
        #expect(try post(server, Self.multipart([("a", "ok.png", "image/png", Self.bytes(1000))])).status == 201)
    }

    @Test func aNameServedAsAnotherTypeIs415() throws {
        // The declared type is the client's word; the name decides how the file is served.
        let server = try start("        accept: [image/*]")
        for (name, why) in [("page.html", "would be served as text/html: stored XSS"),
                            ("photo.png.gz", "would be the gzip form of photo.png"),
                            ("noextension", "would be served as application/octet-stream")] {
            let response = try post(server, Self.multipart([("file", name, "image/png", Self.bytes(100))]))
            #expect(response.status == 415, "\(name) \(why)")
        }
        #expect(self.stored(server).isEmpty)
        #expect(try post(server, Self.multipart([("file", "photo.PNG", "image/png", Self.bytes(100))])).status == 201)
    }

    @Test func abortedUploadLeavesNoFileAndNoTemporaryFile() throws {
        let server = try start()
        let body = Self.multipart([("file", "half.bin", "application/octet-stream", Self.bytes(2_000_000))])
        let connection = try server.connect()
        try connection.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=swerveTestBoundary7MA4YWxk\r\nContent-Length: \(body.count)\r\n\r\n")
        try connection.send(Array(body[0..<(body.count / 2)]))
        try waitUntil("the temporary file exists", timeout: 15) { self.stored(server).contains { $0.hasPrefix(".swerve-upload-") } }
        connection.closeNow()
        try waitUntil("the temporary file is removed", timeout: 15) { self.stored(server).isEmpty }
    }

    @Test func aKilledWorkersTemporaryFileIsRemoved() throws {
        let server = try start()
        let worker = try #require(server.workers.first)
        let body = Self.multipart([("file", "half.bin", "application/octet-stream", Self.bytes(2_000_000))])
        let connection = try server.connect()
        try connection.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=swerveTestBoundary7MA4YWxk\r\nContent-Length: \(body.count)\r\n\r\n")
        try connection.send(Array(body[0..<(body.count / 2)]))
        try waitUntil("the temporary file exists", timeout: 15) { self.stored(server).contains { $0.hasPrefix(".swerve-upload-\(worker)-") } }
        kill(worker, SIGKILL)
        try waitUntil("the dead worker's temporary file is removed", timeout: 15) { self.stored(server).isEmpty }
        // The master logs after it removed the file: the line may trail the removal a little.
        try waitUntil("the removal is logged", timeout: 15) {
            server.errorLog.contains("removed 1 unfinished upload(s) of worker \(worker)")
        }
    }

    @Test func aFolderThatCannotBeWrittenIsAnsweredAtOnceNotStalled() throws {
        let server = try start()
        // The folder goes away under the running server: every write fails.
        try FileManager.default.removeItem(at: server.root.appendingPathComponent("uploads"))
        // Far more than the 2 MiB that pause reading while writes are pending:
        // a failed write must free its bytes, or the socket stays paused for good.
        let body = Self.multipart([("file", "big.bin", "application/octet-stream", Self.bytes(6_000_000))])
        let response = try post(server, body)
        #expect(response.status == 500)
        try waitUntil("the failure is logged", timeout: 5) { server.errorLog.contains("upload failed:") }
    }

    @Test func leftoversOfAnEarlierRunAreRemovedAtStart() throws {
        let server = try TestServer(config: Self.config(), files: ["uploads/.keep": Data()])
        let uploads = server.root.appendingPathComponent("uploads")
        // pid 2^22+1 is above Linux's pid_max limit: no such process can exist.
        try Data("partial".utf8).write(to: uploads.appendingPathComponent(".swerve-upload-4194305-abc"))
        // A live process's file (this test runner's) is someone's upload under way: kept.
        try Data("live".utf8).write(to: uploads.appendingPathComponent(".swerve-upload-\(getpid())-def"))
        try server.start()
        #expect(stored(server) == [".swerve-upload-\(getpid())-def"])
    }

    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root (CI runs as root)"))
    func aFullDiskPublishesNothing() throws {
        let server = try start()
        let uploads = server.root.appendingPathComponent("uploads")
        #expect(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", uploads.path]) == 0)
        defer { _ = Self.run("/bin/umount", [uploads.path]) }
        var info = statvfs()
        #expect(statvfs(uploads.path, &info) == 0)
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        // Both files fit, and so does the first sidecar (one page); the second sidecar does not.
        let one = Self.bytes(free - 2 * 4096), two = Self.bytes(4096, seed: 2)
        let response = try post(server, Self.multipart([("a", "one.bin", "application/octet-stream", one),
                                                         ("b", "two.bin", "application/octet-stream", two)]))
        #expect(response.status == 507)
        // Nothing published: no file, no sidecar, no name blocked for later.
        try waitUntil("temporary files are removed", timeout: 15) { self.stored(server).isEmpty }
        #expect(try post(server, Self.multipart([("a", "two.bin", "application/octet-stream", Self.bytes(100))])).status == 201)
        #expect(stored(server) == [".meta/two.bin.json", "two.bin"])
    }

    static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func methodsAndTypesAreChecked() throws {
        let server = try start()
        let get = try server.get("/upload")
        #expect(get.status == 405)
        #expect(get.header("allow") == "POST")
        let connection = try server.connect()
        try connection.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        #expect(try connection.readResponse().status == 415)
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() throws {
        let server = try start()
        let body = Self.multipart([("file", "c.bin", "application/octet-stream", Self.bytes(4000))])
        let connection = try server.connect()
        try connection.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=swerveTestBoundary7MA4YWxk\r\nContent-Length: \(body.count)\r\nExpect: 100-continue\r\n\r\n")
        #expect(try connection.readResponse().status == 100)
        try connection.send(body)
        #expect(try connection.readResponse().status == 201)
    }

    @Test func redirectAnswers303() throws {
        let server = try start("        redirect: /thanks.html")
        let response = try post(server, Self.multipart([("file", "r.png", "image/png", Self.bytes(100))]))
        #expect(response.status == 303)
        #expect(response.header("location") == "/thanks.html")
    }

    @Test func anUploadedScriptIsServedAsAFileNeverRun() throws {
        let server = try start()
        let script = Array("import os\nos.system('touch /tmp/pwned')\nprint('Content-Type: text/plain\\n\\nran')\n".utf8)
        #expect(try post(server, Self.multipart([("file", "x.py", "text/x-python", script)])).status == 201)
        let response = try server.get("/uploads/x.py")
        #expect(response.status == 200)
        #expect(response.body == script)
    }

    @Test func formFieldsOver64KiBAre413() throws {
        let server = try start()
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 70_000)
        #expect(try post(server, Self.multipart([("file", "f.bin", "application/octet-stream", Self.bytes(100)), ("notes", nil, "", big)])).status == 413)
        try waitUntil("temporary files are removed", timeout: 15) { self.stored(server).isEmpty }
    }

    @Test func urlIsNullWhenTheFolderIsNotServed() throws {
        let server = try TestServer(config: Self.config().replacingOccurrences(of: "dir: {ROOT}/uploads", with: "dir: {DIR}/private"),
                                    files: ["index.html": Data()])
        try FileManager.default.createDirectory(at: server.folder.appendingPathComponent("private"), withIntermediateDirectories: true)
        try server.start()
        let response = try post(server, Self.multipart([("file", "p.bin", "application/octet-stream", Self.bytes(10))]))
        #expect(response.status == 201)
        let files = try #require(try json(response)["files"] as? [[String: Any]])
        #expect(files.first?["url"] is NSNull)
    }

    /// Three kinds of 1 MiB chunk: zeros, random bytes (what a JPEG looks like)
    /// and carriage returns (each of which multipart-kit turned into a write).
    static let chunkKinds: [[UInt8]] = {
        var random = SystemRandomNumberGenerator()
        return [[UInt8](repeating: 0x5A, count: 1 << 20),
                (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) },
                [UInt8](repeating: 13, count: 1 << 20)]
    }()

    @Test func largeUploadsOfEveryKindOfByteStreamWithinBoundedMemory() throws {
        let server = try start("        max_size: 2GiB")
        let worker = try #require(server.workers.first)
        let size = 1 << 30
        let boundary = "swerveTestBoundary7MA4YWxk"
        let head = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        let tail = Array("\r\n--\(boundary)--\r\n".utf8)
        let connection = try server.connect()
        try connection.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(head.count + size + tail.count)\r\n\r\n")
        try connection.send(head)
        func rss() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(worker)/status", encoding: .utf8)) ?? ""
            return Int(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        let before = rss()
        var peak = before
        for index in 0..<(size >> 20) {
            try connection.send(Self.chunkKinds[index % 3])
            if index % 16 == 0 { peak = max(peak, rss()) }
        }
        try connection.send(tail)
        connection.setReadTimeout(120)
        #expect(try connection.readResponse().status == 201)
        let growthMiB = (peak - before) / 1024
        #expect(growthMiB < 32, "worker RSS grew by \(growthMiB) MiB")
        // Stored byte for byte.
        let stored = try FileHandle(forReadingFrom: server.root.appendingPathComponent("uploads/big.bin"))
        defer { try? stored.close() }
        // Data's == is a memcmp; an element-by-element comparison of 1 GiB in
        // this unoptimised test code took most of the suite's critical path.
        let kinds = Self.chunkKinds.map { Data($0) }
        for index in 0..<(size >> 20) {
            let chunk = try stored.read(upToCount: 1 << 20) ?? Data()
            guard chunk == kinds[index % 3] else {
                Issue.record("chunk \(index) differs")
                break
            }
        }
        #expect(try stored.read(upToCount: 1)?.isEmpty ?? true)
        try? FileManager.default.removeItem(at: server.root.appendingPathComponent("uploads/big.bin"))
    }

    @Test func finishedAndAbortedUploadsLeaveNothingInMemory() throws {
        // Each upload's sink held its writer, which held the connection: every
        // upload request kept its connection (and its last 64 KiB read) alive.
        let server = try start("        metadata: false")
        let worker = try #require(server.workers.first)
        func rss() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(worker)/status", encoding: .utf8)) ?? ""
            return Int(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        let body = Self.multipart([("file", "m.bin", "application/octet-stream", Self.bytes(200_000))])
        func round() throws {
            for index in 0..<100 {
                let connection = try server.connect()
                try connection.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=swerveTestBoundary7MA4YWxk\r\nContent-Length: \(body.count)\r\n\r\n")
                if index % 2 == 0 {
                    try connection.send(body)
                    #expect(try connection.readResponse().status == 201)
                } else {
                    try connection.send(Array(body.prefix(body.count / 2)))  // given up halfway
                }
                connection.closeNow()
            }
            try waitUntil("temporary files are removed", timeout: 15) { !self.stored(server).contains { $0.hasPrefix(".swerve") } }
        }
        try round()  // the allocator's working set
        let before = rss()
        for _ in 0..<3 { try round() }
        let growthKiB = rss() - before
        #expect(growthKiB < 4096, "300 more uploads grew the worker by \(growthKiB) KiB")
    }

    @Test func partsAreCountedAgainstMaxParts() throws {
        let server = try start()
        // 1,001 empty fields with distinct names: over the default of 1,000.
        let fields = (0...1000).map { ("f\($0)", nil as String?, "", [UInt8]()) }
        #expect(try post(server, Self.multipart(fields)).status == 413)
        let response = try post(server, Self.multipart(Array(fields.dropLast())))
        #expect(response.status == 201)
        #expect((try json(response)["fields"] as? [String: String])?.count == 1000)

        let small = try start("        max_parts: 2")
        #expect(try post(small, Self.multipart([("a", nil, "", [1]), ("b", "b.bin", "application/octet-stream", [2]), ("c", nil, "", [3])])).status == 413)
        try waitUntil("temporary files are removed", timeout: 15) { self.stored(small).isEmpty }
    }

    @Test func hostilePartHeadersGet400AndTheWorkerLives() throws {
        let server = try start()
        let worker = try #require(server.workers.first)
        // The 6-byte body that killed workers: a part header name with a byte >= 0x80.
        for body in [Array("--B\r\n".utf8) + [0xFF], Array("--B\r\nX\u{e9}: y\r\n\r\nz\r\n--B--\r\n".utf8),
                     Array("--B\r\nContent-Type: a\nforged\r\n\r\nz\r\n--B--\r\n".utf8)] {
            let connection = try server.connect()
            try connection.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: \(body.count)\r\n\r\n")
            try connection.send(body)
            #expect(try connection.readResponse().status == 400)
        }
        #expect(server.workers == [worker])
        #expect(!server.errorLog.contains("forged"))
    }
}

extension Atomic {
    func update(_ change: (inout Value) -> Void) {
        lockedUpdate(change)
    }
}
