import Glibc
import Testing
import SwerveConfig

/// SPEC §2.1's `acme:` block and `tls: { acme: true }`: decoding, the rules
/// `check` enforces with line and column, the reachability warnings, the
/// storage layout, and the self-signed stand-in before the first certificate.
@Suite("ACME config")
struct ACMEConfigTests {
    static let acmeSite = """
        acme:
          email: admin@example.com
          directory: https://acme.test/dir
          storage: acme
          challenge: http-01
          renew_before: 20d
        vhosts:
          - names: [a.test, www.a.test]
            listen: [80, "443 tls"]
            root: www
            tls: { acme: true }
        """

    @Test func decodesTheBlockAndServesAStandInUntilTheFirstCertificate() throws {
        let dir = try TempDir().site()
        let outcome = load(Self.acmeSite, in: dir)
        let config = try #require(outcome.config, "\(outcome.printed)")
        let acme = try #require(config.acme)
        #expect(acme.email == "admin@example.com")
        #expect(acme.directory == "https://acme.test/dir")
        #expect(acme.storage == dir.url("acme"))
        #expect(acme.renewBefore == .seconds(20 * 86_400))
        #expect(config.acmeVHosts.count == 1)
        // No certificate stored yet: a self-signed one, and a warning naming who waits and why.
        let material = try #require(config.vhosts[0].tls?.material)
        #expect(String(decoding: material.chainPEM, as: UTF8.self).hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(outcome.printed.contains {
            $0.contains("config.yaml:11:18: warning: 'a.test' waits for its ACME certificate (no certificate from the ACME directory yet)")
        }, "\(outcome.printed)")
        // Ports 80 and 443 are there: no reachability warning.
        #expect(!outcome.printed.contains { $0.contains("the CA checks") }, "\(outcome.printed)")
    }

    @Test func aStoredCertificateIsServedOnceItIsThere() throws {
        let dir = try TempDir().site()
        let layout = ACMEStorage(root: dir.url("acme"), directory: "https://acme.test/dir")
        let made = try CertificateBuilder.selfSigned(names: ["a.test", "www.a.test"], lifetime: 90 * 86_400, now: Int64(time(nil)))
        _ = try dir.write("acme/certificates/acme.test-dir/a.test/fullchain.pem", bytes: made.certificatePEM)
        _ = try dir.write("acme/certificates/acme.test-dir/a.test/key.pem", bytes: made.keyPEM)
        #expect(layout.chain("a.test") == dir.url("acme/certificates/acme.test-dir/a.test/fullchain.pem"))
        let outcome = load(Self.acmeSite, in: dir)
        let config = try #require(outcome.config, "\(outcome.printed)")
        #expect(config.vhosts[0].tls?.material?.chainPEM == made.certificatePEM)
        #expect(!outcome.printed.contains { $0.contains("waits for its ACME certificate") }, "\(outcome.printed)")
    }

    @Test func anUnusableStoredCertificateFallsBackToTheStandInAndSaysWhy() throws {
        let dir = try TempDir().site()
        let made = try CertificateBuilder.selfSigned(names: ["a.test"], lifetime: 90 * 86_400, now: Int64(time(nil)))
        let other = try CertificateBuilder.selfSigned(names: ["a.test"], lifetime: 90 * 86_400, now: Int64(time(nil)))
        _ = try dir.write("acme/certificates/acme.test-dir/a.test/fullchain.pem", bytes: made.certificatePEM)
        _ = try dir.write("acme/certificates/acme.test-dir/a.test/key.pem", bytes: other.keyPEM)
        let outcome = load(Self.acmeSite, in: dir)
        #expect(outcome.config != nil, "\(outcome.printed)")
        #expect(outcome.printed.contains { $0.contains("'a.test' waits for its ACME certificate") && $0.contains("does not match certificate") },
                "\(outcome.printed)")
    }

    @Test func rulesWithLineAndColumn() throws {
        let dir = try TempDir().site()
        let outcome = load("""
            acme:
              email: not-an-address
              directory: http://acme.test/dir
              challenge: dns-01
              renew_before: 10m
              ca_roots: missing.pem
            vhosts:
              - names: ["*.a.test", 10.0.0.1]
                listen: ["443 tls"]
                root: www
                tls: { acme: true, certificate: a.pem }
              - names: [b.test]
                listen: [8080]
                root: www
            """, in: dir)
        let printed = outcome.printed
        for expected in [
            "config.yaml:2:10: error: 'email' must be one address",
            "config.yaml:3:14: error: 'directory' must be an https:// URL",
            "config.yaml:4:14: error: 'challenge' must be one of http-01, tls-alpn-01, found 'dns-01'",
            "config.yaml:5:17: error: 'renew_before' must be at least 1h",
            "config.yaml:6:13: error: cannot read acme.ca_roots",
            "config.yaml:8:13: error: '*.a.test': a wildcard certificate needs ACME's dns-01 challenge",
            "config.yaml:8:25: error: '10.0.0.1' is an address",
            "config.yaml:11:37: error: 'certificate' and 'acme: true' exclude each other",
        ] {
            #expect(printed.contains { $0.contains(expected) }, "\(expected) in \(printed)")
        }
        #expect(outcome.config == nil)
    }

    @Test func acmeTrueNeedsTheTopLevelBlock() throws {
        let dir = try TempDir().site()
        let outcome = load("""
            vhosts:
              - names: [a.test]
                listen: ["443 tls"]
                root: www
                tls: { acme: true }
            """, in: dir)
        #expect(outcome.printed.contains { $0.contains("config.yaml:5:18: error: 'acme: true' needs a top-level 'acme' block") },
                "\(outcome.printed)")
    }

    @Test func warnsWhenTheChallengePortIsNotOneOfOurListeners() throws {
        let dir = try TempDir().site()
        let http = load("""
            acme: { storage: acme }
            vhosts:
              - names: [a.test]
                listen: [8080, "8443 tls"]
                root: www
                tls: { acme: true }
            """, in: dir)
        #expect(http.printed.contains { $0.contains("config.yaml:3:13: warning: the CA checks 'a.test' with http-01 on port 80") }, "\(http.printed)")
        let alpn = load("""
            acme: { storage: acme, challenge: tls-alpn-01 }
            vhosts:
              - names: [a.test]
                listen: [80, "8443 tls"]
                root: www
                tls: { acme: true }
            """, in: dir)
        #expect(alpn.printed.contains { $0.contains("warning: the CA checks 'a.test' with tls-alpn-01 on port 443") }, "\(alpn.printed)")
        #expect(alpn.config != nil)
    }

    @Test func storageLayoutNamesAreSafePathComponents() {
        let layout = ACMEStorage(root: "/var/lib/swerve/acme", directory: "https://acme-v02.api.letsencrypt.org/directory")
        #expect(layout.accountKey == "/var/lib/swerve/acme/accounts/acme-v02.api.letsencrypt.org-directory/key.pem")
        #expect(ACMEStorage(root: "/s", directory: "https://localhost:14000/dir").directoryID == "localhost-14000-dir")
        #expect(ACMEStorage(root: "/s", directory: "https://..").directoryID == "_..")
        #expect(ACMEStorage.isToken("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"))
        #expect(!ACMEStorage.isToken("../etc/passwd"))
        #expect(!ACMEStorage.isToken(""))
        #expect(!ACMEStorage.isToken("a.b"))
    }
}
