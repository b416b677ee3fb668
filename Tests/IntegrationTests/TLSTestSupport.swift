import Foundation

/// Certificates made at test time with the openssl command (tests only; the
/// server reads and checks them with BoringSSL): a CA, and leaves it signs.
struct TestCertificates {
    let folder: URL
    var caFile: String { folder.appendingPathComponent("ca.pem").path }

    init(in folder: URL) throws {
        self.folder = folder.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: self.folder, withIntermediateDirectories: true)
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", path("ca.key"), "-out", caFile, "-days", "30", "-subj", "/CN=swerve test CA"])
    }

    /// A leaf for `names` (subjectAltName DNS entries), chained with the CA:
    /// writes NAME.pem (leaf, then CA) and NAME.key; returns their paths.
    /// `days` may be negative (already expired).
    @discardableResult
    func issue(_ file: String, names: [String], days: Int = 30, rsa: Bool = false) throws -> (certificate: String, key: String) {
        let key = path(file + ".key"), csr = path(file + ".csr"), leaf = path(file + ".leaf")
        let algorithm = rsa ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        try openssl(["req"] + algorithm + ["-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=\(names.first ?? "x")"])
        let extensions = path(file + ".ext")
        try ("subjectAltName=" + names.map { "DNS:" + $0 }.joined(separator: ",")).write(toFile: extensions, atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", path("ca.key"), "-CAcreateserial",
                     "-out", leaf, "-days", String(days), "-extfile", extensions])
        let chain = try String(contentsOfFile: leaf, encoding: .utf8) + String(contentsOfFile: caFile, encoding: .utf8)
        try chain.write(toFile: path(file + ".pem"), atomically: true, encoding: .utf8)
        return (path(file + ".pem"), key)
    }

    /// The serial number of FILE.pem's leaf ("serial=…").
    func serial(_ file: String) throws -> String {
        try openssl(["x509", "-in", path(file + ".pem"), "-noout", "-serial"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    @discardableResult
    private func openssl(_ arguments: [String]) throws -> String {
        let result = try SwerveBinary.runProgram("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw TestFailure("openssl \(arguments.first ?? ""): \(result.stderr)") }
        return result.stdout
    }
}

/// TLS clients nobody here wrote: curl and openssl s_client.
enum TLSClient {
    /// curl over https to NAME:PORT (resolved to 127.0.0.1), verifying with `ca`.
    /// Returns "STATUS BODY" or curl's error.
    static func get(_ name: String, port: Int, path: String = "/", ca: String, extra: [String] = []) throws -> SwerveBinary.Result {
        try SwerveBinary.runProgram("/usr/bin/curl", [
            "-sS", "--max-time", "10", "--cacert", ca, "--resolve", "\(name):\(port):127.0.0.1",
            "-w", "\n%{http_code}", "https://\(name):\(port)\(path)",
        ] + extra)
    }

    /// One handshake with s_client: its transcript (subject, "New"/"Reused", protocol).
    /// `serverName` nil sends no SNI. `sessionOut`/`sessionIn` save and offer a session.
    static func handshake(port: Int, serverName: String?, ca: String, arguments: [String] = [],
                          sessionOut: String? = nil, sessionIn: String? = nil) throws -> String {
        var args = ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", ca]
        args += serverName.map { ["-servername", $0] } ?? ["-noservername"]
        if let sessionOut { args += ["-sess_out", sessionOut] }
        if let sessionIn { args += ["-sess_in", sessionIn] }
        // The request makes TLS 1.3 deliver its session ticket before s_client leaves.
        let script = "printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | openssl "
            + (args + arguments).map { "'\($0)'" }.joined(separator: " ") + " -ign_eof 2>&1"
        return try SwerveBinary.runProgram("/bin/sh", ["-c", script], timeout: 20).stdout
    }
}
