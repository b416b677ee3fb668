import Foundation
import SwerveConfig
import SwerveMaster
import Testing

/// When a reload replaces the acme helper: only when what it works on
/// changed (the acme block, the ACME vhosts' names, its user); any other
/// reload leaves it, and an order under way, alone.
@Suite struct HelperKeyTests {
    static func config(acme: String = "acme: { storage: /tmp/swerve-helper-key-test }", names: String = "[a.test]",
                       extra: String = "") throws -> Config {
        let text = """
            \(acme)
            vhosts:
              - names: \(names)
                listen: [8080, "8443 tls"]
                root: /tmp
                tls: { acme: true }
              - names: [other.test]
                listen: [8080]
                root: /tmp
            \(extra)
            """
        let outcome = ConfigLoader.load(text: text, directory: "/tmp")
        return try #require(outcome.config, "\(outcome.diagnostics.sorted)")
    }

    @Test func onlyTheHelpersPartOfTheConfigCounts() throws {
        let base = try HelperProcess.key(for: Self.config())
        #expect(base != nil)
        #expect(try HelperProcess.key(for: Self.config(extra: """
              - names: [third.test]
                listen: [8081]
                root: /tmp
            """)) == base)
        #expect(try HelperProcess.key(for: Self.config(names: "[a.test, www.a.test]")) != base)
        #expect(try HelperProcess.key(for: Self.config(acme: "acme: { storage: /tmp/swerve-helper-key-test, challenge: tls-alpn-01 }")) != base)
        #expect(try HelperProcess.key(for: Self.config(acme: "acme: { storage: /tmp/swerve-helper-key-test, email: a@b.test }")) != base)
    }

    @Test func noACMEVhostNoHelper() throws {
        let outcome = ConfigLoader.load(text: """
            vhosts:
              - names: [a.test]
                listen: [8080]
                root: /tmp
            """, directory: "/tmp")
        #expect(HelperProcess.key(for: try #require(outcome.config)) == nil)
    }
}
