import SwerveConfig
import Testing
import SwerveWorker

@Suite struct VHostTableTests {
    static let a = ListenAddress(host: "127.0.0.1", port: 8080, family: .ipv4)
    static let b = ListenAddress(host: "127.0.0.1", port: 8081, family: .ipv4)
    static let v6 = ListenAddress(host: "::1", port: 8080, family: .ipv6)
    static let unknown = ListenAddress(host: "10.0.0.1", port: 80, family: .ipv4)

    private func vhost(_ names: [ServerName], listen: [ListenAddress] = [a], isDefault: Bool = false) -> VirtualHost {
        var vhost = VirtualHost()
        vhost.names = names
        vhost.listen = listen
        vhost.isDefault = isDefault
        return vhost
    }

    /// 0: example.com, www.example.com   1: *.example.com   2: *.a.example.com
    /// 3: other.test (default)            4: [::1], 127.0.0.1
    private var table: VHostTable {
        VHostTable(vhosts: [
            vhost([.exact("example.com"), .exact("www.example.com")]),
            vhost([.wildcard(suffix: "example.com")]),
            vhost([.wildcard(suffix: "a.example.com")]),
            vhost([.exact("other.test")], isDefault: true),
            vhost([.exact("[::1]"), .exact("127.0.0.1")]),
        ])
    }

    private func index(_ host: String?, _ listener: ListenAddress = a) -> Int? {
        table.vhostIndex(host: host, listener: listener)
    }

    // MARK: exact names

    @Test func exactName() {
        #expect(index("example.com") == 0)
        #expect(index("www.example.com") == 0)
        #expect(index("other.test") == 3)
    }

    @Test func caseInsensitive() {
        #expect(index("EXAMPLE.COM") == 0)
        #expect(index("Www.Example.Com") == 0)
        #expect(index("OTHER.test") == 3)
    }

    @Test func portStripped() {
        #expect(index("example.com:8080") == 0)
        #expect(index("example.com:80") == 0)
        #expect(index("x.example.com:443") == 1)
    }

    @Test func trailingDot() {
        #expect(index("example.com.") == 0)
        #expect(index("example.com.:8080") == 0)
        #expect(index("X.Example.COM.") == 1)
    }

    @Test func ipv6Literal() {
        #expect(index("[::1]:8080") == 4)
        #expect(index("[::1]") == 4)
        #expect(index("127.0.0.1:8080") == 4)
    }

    // MARK: wildcards

    @Test func wildcardMatchesSubdomains() {
        #expect(index("x.example.com") == 1)
        #expect(index("deep.x.example.com") == 1)
        #expect(index("api.example.com") == 1)
    }

    @Test func longestWildcardSuffixWins() {
        #expect(index("b.a.example.com") == 2)
        #expect(index("c.b.a.example.com") == 2)
    }

    @Test func longestWildcardWinsWhateverTheOrder() {
        let reversed = VHostTable(vhosts: [
            vhost([.wildcard(suffix: "a.example.com")]),
            vhost([.wildcard(suffix: "example.com")]),
        ])
        #expect(reversed.vhostIndex(host: "b.a.example.com", listener: Self.a) == 0)
        #expect(reversed.vhostIndex(host: "b.example.com", listener: Self.a) == 1)
    }

    @Test func wildcardDoesNotMatchBareDomain() {
        // "a.example.com" is not matched by "*.a.example.com" but is by "*.example.com".
        #expect(index("a.example.com") == 1)
        let onlyWildcard = VHostTable(vhosts: [
            vhost([.exact("fallback.test")]),
            vhost([.wildcard(suffix: "example.org")]),
        ])
        #expect(onlyWildcard.vhostIndex(host: "example.org", listener: Self.a) == 0)
        #expect(onlyWildcard.vhostIndex(host: ".example.org", listener: Self.a) == 0)
        #expect(onlyWildcard.vhostIndex(host: "badexample.org", listener: Self.a) == 0)
        #expect(onlyWildcard.vhostIndex(host: "x.example.org", listener: Self.a) == 1)
    }

    @Test func exactBeatsWildcard() {
        let table = VHostTable(vhosts: [
            vhost([.wildcard(suffix: "example.com")]),
            vhost([.exact("www.example.com")]),
        ])
        #expect(table.vhostIndex(host: "www.example.com", listener: Self.a) == 1)
        #expect(table.vhostIndex(host: "api.example.com", listener: Self.a) == 0)
    }

    // MARK: fallback

    @Test func unknownHostGoesToDefault() {
        #expect(index("unknown.test") == 3)
        #expect(index("example.org") == 3)
        #expect(index("") == 3)
        #expect(index(":8080") == 3)
        #expect(index(nil) == 3)
    }

    @Test func firstListedIsFallbackWithoutDefault() {
        let table = VHostTable(vhosts: [
            vhost([.exact("one.test")]),
            vhost([.exact("two.test")]),
        ])
        #expect(table.vhostIndex(host: "three.test", listener: Self.a) == 0)
        #expect(table.vhostIndex(host: nil, listener: Self.a) == 0)
    }

    @Test func defaultBeatsFirstListed() {
        let table = VHostTable(vhosts: [
            vhost([.exact("one.test")]),
            vhost([.exact("two.test")], isDefault: true),
            vhost([.exact("three.test")]),
        ])
        #expect(table.vhostIndex(host: "nope.test", listener: Self.a) == 1)
        #expect(table.vhostIndex(host: nil, listener: Self.a) == 1)
        #expect(table.vhostIndex(host: "one.test", listener: Self.a) == 0)
    }

    @Test func firstDefaultWinsWhenSeveralClaimIt() {
        let table = VHostTable(vhosts: [
            vhost([.exact("one.test")]),
            vhost([.exact("two.test")], isDefault: true),
            vhost([.exact("three.test")], isDefault: true),
        ])
        #expect(table.vhostIndex(host: "nope.test", listener: Self.a) == 1)
    }

    @Test func firstVhostWinsForDuplicateExactName() {
        let table = VHostTable(vhosts: [
            vhost([.exact("dup.test")]),
            vhost([.exact("dup.test")]),
        ])
        #expect(table.vhostIndex(host: "dup.test", listener: Self.a) == 0)
    }

    // MARK: listeners

    @Test func listenersAreSeparate() {
        let table = VHostTable(vhosts: [
            vhost([.exact("site.test")], listen: [Self.a]),
            vhost([.exact("site.test")], listen: [Self.b]),
            vhost([.exact("only-a.test")], listen: [Self.a], isDefault: true),
            vhost([.exact("both.test")], listen: [Self.a, Self.b]),
        ])
        #expect(table.vhostIndex(host: "site.test", listener: Self.a) == 0)
        #expect(table.vhostIndex(host: "site.test", listener: Self.b) == 1)
        #expect(table.vhostIndex(host: "both.test", listener: Self.a) == 3)
        #expect(table.vhostIndex(host: "both.test", listener: Self.b) == 3)
        // only-a.test is not served on b: b's fallback (its first listed vhost) answers.
        #expect(table.vhostIndex(host: "only-a.test", listener: Self.b) == 1)
        // The default on a is not the default on b.
        #expect(table.vhostIndex(host: "nope.test", listener: Self.a) == 2)
        #expect(table.vhostIndex(host: "nope.test", listener: Self.b) == 1)
    }

    @Test func sameAddressDifferentFamilyIsADifferentListener() {
        let table = VHostTable(vhosts: [
            vhost([.exact("v4.test")], listen: [Self.a]),
            vhost([.exact("v6.test")], listen: [Self.v6]),
        ])
        #expect(table.vhostIndex(host: "v4.test", listener: Self.v6) == 1)
        #expect(table.vhostIndex(host: "v6.test", listener: Self.a) == 0)
    }

    @Test func unknownListenerIsNil() {
        #expect(index("example.com", Self.unknown) == nil)
        #expect(index(nil, Self.unknown) == nil)
        #expect(VHostTable(vhosts: []).vhostIndex(host: "x", listener: Self.a) == nil)
    }

    @Test func vhostWithoutNamesIsStillAFallback() {
        let table = VHostTable(vhosts: [vhost([])])
        #expect(table.vhostIndex(host: "anything.test", listener: Self.a) == 0)
    }

    // MARK: normalise

    @Test(arguments: [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("example.com:8080", "example.com"),
        ("example.com.", "example.com"),
        ("EXAMPLE.COM.:443", "example.com"),
        ("[::1]:8080", "[::1]"),
        ("[::1]", "[::1]"),
        ("[2001:DB8::1]:80", "[2001:db8::1]"),
        ("127.0.0.1:80", "127.0.0.1"),
    ] as [(String, String)])
    func normalise(host: String, expected: String) {
        #expect(VHostTable.normalise(host) == expected)
    }

    @Test(arguments: ["", ":8080", ".", "[::1", "[", ".:80"])
    func normaliseRefuses(host: String) {
        #expect(VHostTable.normalise(host) == nil)
    }
}
