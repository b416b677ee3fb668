import Testing
import SwerveConfig

/// SPEC §2.1's config side: " tls" listen entries, the `tls:` block and the
/// rules between vhosts. (Certificate files are checked against real
/// certificates in IntegrationTests/TLSTests.)
@Suite("TLS config")
struct TLSConfigTests {
    @Test func listenEntriesEndingInTLS() throws {
        let any = try ListenAddress.parseEntry("443 tls")
        #expect(any.tls && any.addresses.map(\.description) == ["0.0.0.0:443", "[::]:443"])
        let v6 = try ListenAddress.parseEntry("[::]:8443 tls")
        #expect(v6.tls && v6.addresses.map(\.description) == ["[::]:8443"])
        let plain = try ListenAddress.parseEntry("127.0.0.1:8080")
        #expect(!plain.tls)
        #expect(throws: UnitParseError.self) { try ListenAddress.parseEntry("443 ssl") }
        #expect(throws: UnitParseError.self) { try ListenAddress.parseEntry("443 tls http2") }
    }

    @Test func aListenerIsTLSForEveryVhostOrNone() throws {
        let dir = try TempDir().site()
        let outcome = load("""
            vhosts:
              - names: [a.test]
                listen: ["8443 tls"]
                root: www
                tls: { certificate: a.pem, key: a.key }
              - names: [b.test]
                listen: [8443]
                root: www
            """, in: dir)
        #expect(outcome.printed.contains { $0.contains("config.yaml:7:") && $0.contains("0.0.0.0:8443 is plain here but TLS in the vhost at 3:") },
                "\(outcome.printed)")
    }

    @Test func aTLSListenerNeedsACertificateAndRedirectNeedsATLSListener() throws {
        let dir = try TempDir().site()
        let outcome = load("""
            vhosts:
              - names: [a.test]
                listen: ["127.0.0.1:8443 tls"]
                root: www
              - names: [b.test]
                listen: ["127.0.0.1:8080"]
                root: www
                tls: { certificate: b.pem, key: b.key, redirect_http: true, hsts: "1 year" }
            """, in: dir)
        let printed = outcome.printed
        #expect(printed.contains { $0.contains("config.yaml:3:") && $0.contains("listens with TLS but has no certificate") }, "\(printed)")
        #expect(printed.contains { $0.contains("'redirect_http' needs a TLS listener") }, "\(printed)")
        #expect(printed.contains { $0.contains("'hsts' must be a Strict-Transport-Security value") }, "\(printed)")
        #expect(printed.contains { $0.contains("cannot read certificate") && $0.contains("b.pem") }, "\(printed)")
        #expect(outcome.config == nil)
    }

    @Test func unknownTLSKeysGetAHint() throws {
        let dir = try TempDir().site()
        let outcome = load("""
            vhosts:
              - listen: ["8443 tls"]
                root: www
                tls: { certificat: a.pem, key: a.key }
            """, in: dir)
        #expect(outcome.printed.contains { $0.contains("did you mean 'certificate'?") }, "\(outcome.printed)")
    }
}
