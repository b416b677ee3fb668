import Foundation
import Glibc

/// Debian's pebble (Let's Encrypt's test CA) on loopback, with
/// pebble-challtestsrv as its DNS so every name resolves to 127.0.0.1, and
/// its validation aimed at the test server's ports (`httpPort`, `tlsPort`).
/// Its own HTTPS certificate is signed by a test CA that swerve is told to
/// trust through `acme.ca_roots`.
final class Pebble {
    let folder: URL
    let port: Int
    let managementPort: Int
    let dnsPort: Int
    private var pebble: Process?
    private var dns: Process?
    private let environment: [String: String]

    var directory: String { "https://localhost:\(port)/dir" }
    /// The CA swerve trusts for the directory itself.
    let directoryRoots: String
    var log: String { (try? String(contentsOf: folder.appendingPathComponent("pebble.log"), encoding: .utf8)) ?? "" }

    /// `validity`: the lifetime of the certificates it issues, in seconds.
    /// `validationDelay`: seconds its VA waits before checking a challenge (none by default).
    /// `reuseAuthorizations`: every valid authorization is reused, so a second
    /// order needs no validation (pebble reuses half of them by default).
    init(in parent: URL, httpPort: Int, tlsPort: Int, validity: Int? = nil, validationDelay: Int? = nil,
         reuseAuthorizations: Bool = false) throws {
        folder = parent.appendingPathComponent("pebble")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        port = try TestServer.freePortForTests()
        managementPort = try TestServer.freePortForTests()
        dnsPort = try TestServer.freePortForTests()
        let certificates = try TestCertificates(in: folder)
        let (certificate, key) = try certificates.issue("pebble", names: ["localhost"])
        directoryRoots = certificates.caFile
        var settings: [String: Any] = [
            "listenAddress": "127.0.0.1:\(port)", "managementListenAddress": "127.0.0.1:\(managementPort)",
            "certificate": certificate, "privateKey": key, "httpPort": httpPort, "tlsPort": tlsPort,
            "ocspResponderURL": "", "externalAccountBindingRequired": false,
        ]
        if let validity { settings["certificateValidityPeriod"] = validity }
        let data = try JSONSerialization.data(withJSONObject: ["pebble": settings])
        try data.write(to: folder.appendingPathComponent("pebble.json"))
        var environment = ["PEBBLE_VA_NOSLEEP": "1"]
        if let validationDelay { environment = ["PEBBLE_VA_SLEEPTIME": String(validationDelay)] }
        if reuseAuthorizations { environment["PEBBLE_AUTHZREUSE"] = "100" }
        self.environment = environment
    }

    /// Starts the DNS and the CA, and waits until the directory answers.
    func start() throws {
        if dns == nil {
            dns = try launch("/usr/bin/pebble-challtestsrv", [
                "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", "127.0.0.1:\(dnsPort)",
                "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", "127.0.0.1:\(try TestServer.freePortForTests())",
            ], log: "dns.log", environment: [:])
            // pebble's first validation must find the DNS up, or the challenge
            // fails and the helper backs off for a minute.
            try waitUntil("pebble-challtestsrv answers DNS over TCP", timeout: 20) {
                guard self.dns?.isRunning == true else { throw TestFailure("pebble-challtestsrv exited") }
                return (try? RawConnection(port: self.dnsPort, readTimeout: 1)) != nil
            }
        }
        let logFile = folder.appendingPathComponent("pebble.log")
        try? FileManager.default.removeItem(at: logFile)
        pebble = try launch("/usr/bin/pebble", ["-config", folder.appendingPathComponent("pebble.json").path,
                                                "-dnsserver", "127.0.0.1:\(dnsPort)"],
                            log: "pebble.log", environment: environment)
        try waitUntil("pebble serves its directory", timeout: 20) {
            guard self.pebble?.isRunning == true else { throw TestFailure("pebble exited: \(self.log)") }
            return self.log.contains("ACME directory available")
        }
    }

    /// The CA goes away (the DNS stays).
    func stopCA() {
        Self.end(pebble)
        pebble = nil
    }

    func stop() {
        stopCA()
        Self.end(dns)
        dns = nil
    }

    deinit { stop() }

    /// The root pebble issues under (made afresh at each start): what a client
    /// needs to trust the certificates swerve got.
    func issuingRoot() throws -> String {
        let file = folder.appendingPathComponent("issuing-root.pem").path
        let result = try SwerveBinary.runProgram("/usr/bin/curl", ["-sS", "-k", "--max-time", "10", "-o", file,
                                                                   "https://127.0.0.1:\(managementPort)/roots/0"])
        guard result.status == 0 else { throw TestFailure("pebble's root: \(result.stderr)") }
        return file
    }

    private func launch(_ executable: String, _ arguments: [String], log: String,
                        environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let file = folder.appendingPathComponent(log)
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    private static func end(_ process: Process?) {
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

extension TestServer {
    /// The subject and issuer of the certificate served to `name` on the TLS port.
    func servedCertificate(_ name: String) throws -> String {
        let script = "openssl s_client -connect 127.0.0.1:\(port) -servername \(name) </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -serial"
        return try SwerveBinary.runProgram("/bin/sh", ["-c", script], timeout: 15).stdout
    }
}
