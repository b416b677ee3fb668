import Testing
import SwerveConfig

@Suite("ListenAddress")
struct ListenTests {
    private func invalidMessage(_ text: String) -> UnitParseError {
        UnitParseError(
            "invalid listen address '\(text)' (use PORT, ADDR:PORT or [IPV6]:PORT with a numeric address)")
    }

    @Test func barePortMeansBothFamiliesIPv4First() throws {
        let addresses = try ListenAddress.parse("8080")
        #expect(addresses == [
            ListenAddress(host: "0.0.0.0", port: 8080, family: .ipv4),
            ListenAddress(host: "::", port: 8080, family: .ipv6),
        ])
        #expect(addresses.map(\.description) == ["0.0.0.0:8080", "[::]:8080"])
        let allWildcard = addresses.allSatisfy { $0.isWildcard }
        #expect(allWildcard)
    }

    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080),
        ("0.0.0.0:80", "0.0.0.0", 80),
        ("*:8080", "0.0.0.0", 8080),
        ("10.1.2.3:1", "10.1.2.3", 1),
        ("255.255.255.255:65535", "255.255.255.255", 65535),
        ("192.168.0.1:00443", "192.168.0.1", 443),
        ("  127.0.0.1:8080\t", "127.0.0.1", 8080),
    ])
    func ipv4(text: String, host: String, port: Int) throws {
        #expect(try ListenAddress.parse(text) == [ListenAddress(host: host, port: port, family: .ipv4)])
    }

    @Test(arguments: [
        ("[::1]:8080", "::1", 8080),
        ("[::]:8080", "::", 8080),
        ("[0::1]:8080", "::1", 8080),
        ("[0:0:0:0:0:0:0:1]:443", "::1", 443),
        ("[0:0:0:0:0:0:0:0]:80", "::", 80),
        ("[2001:DB8::A]:80", "2001:db8::a", 80),
        ("[2001:0db8:0000:0000:0000:0000:0000:0001]:80", "2001:db8::1", 80),
        ("[fe80::1]:65535", "fe80::1", 65535),
        ("[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80),
        (" [::1]:8080 ", "::1", 8080),
    ])
    func ipv6(text: String, host: String, port: Int) throws {
        #expect(try ListenAddress.parse(text) == [ListenAddress(host: host, port: port, family: .ipv6)])
    }

    @Test func ipv6SpellingsCompareAndHashEqual() throws {
        let a = try ListenAddress.parse("[0::1]:8080")
        let b = try ListenAddress.parse("[::1]:8080")
        let c = try ListenAddress.parse("[0000:0000::0001]:8080")
        #expect(a == b && b == c)
        #expect(Set(a + b + c).count == 1)
    }

    @Test func starIsIPv4Only() throws {
        let addresses = try ListenAddress.parse("*:8080")
        #expect(addresses.count == 1)
        #expect(addresses[0].family == .ipv4)
        #expect(addresses[0].description == "0.0.0.0:8080")
        #expect(addresses[0] == (try ListenAddress.parse("0.0.0.0:8080"))[0])
    }

    @Test(arguments: [
        (ListenAddress(host: "0.0.0.0", port: 8080, family: .ipv4), "0.0.0.0:8080"),
        (ListenAddress(host: "127.0.0.1", port: 80, family: .ipv4), "127.0.0.1:80"),
        (ListenAddress(host: "::", port: 8080, family: .ipv6), "[::]:8080"),
        (ListenAddress(host: "::1", port: 8080, family: .ipv6), "[::1]:8080"),
    ])
    func description(address: ListenAddress, expected: String) {
        #expect(address.description == expected)
        #expect("\(address)" == expected)
    }

    @Test func isWildcard() {
        #expect(ListenAddress(host: "0.0.0.0", port: 1, family: .ipv4).isWildcard)
        #expect(ListenAddress(host: "::", port: 1, family: .ipv6).isWildcard)
        #expect(!ListenAddress(host: "127.0.0.1", port: 1, family: .ipv4).isWildcard)
        #expect(!ListenAddress(host: "::1", port: 1, family: .ipv6).isWildcard)
        #expect(!ListenAddress(host: "10.0.0.0", port: 1, family: .ipv4).isWildcard)
    }

    @Test(arguments: [
        "8080", "127.0.0.1:8080", "*:8080", "[::1]:8080", "[::]:8080", "[0::1]:1",
        "[2001:db8::1]:65535", "10.0.0.1:443",
    ])
    func descriptionRoundTrips(text: String) throws {
        for address in try ListenAddress.parse(text) {
            #expect(try ListenAddress.parse(address.description) == [address])
        }
    }

    @Test func hashableDistinguishesFields() {
        let base = ListenAddress(host: "::", port: 80, family: .ipv6)
        var other = base
        other.port = 81
        #expect(base != other)
        other = base
        other.host = "::1"
        #expect(base != other)
        #expect(Set([base, base, other]).count == 2)
    }

    @Test(arguments: [
        ("0", "port 0 is out of range (1-65535)"),
        ("70000", "port 70000 is out of range (1-65535)"),
        ("65536", "port 65536 is out of range (1-65535)"),
        ("000", "port 0 is out of range (1-65535)"),
        ("070000", "port 70000 is out of range (1-65535)"),
        ("99999999999999999999999", "port 99999999999999999999999 is out of range (1-65535)"),
        ("127.0.0.1:0", "port 0 is out of range (1-65535)"),
        ("127.0.0.1:70000", "port 70000 is out of range (1-65535)"),
        ("*:65536", "port 65536 is out of range (1-65535)"),
        ("[::1]:0", "port 0 is out of range (1-65535)"),
        ("[::]:70000", "port 70000 is out of range (1-65535)"),
    ])
    func portRange(text: String, message: String) {
        #expect(throws: UnitParseError(message)) { try ListenAddress.parse(text) }
    }

    @Test(arguments: [
        "", "   ", "localhost:80", "example.com:80", "localhost", "127.0.0.1", "127.0.0.1:",
        ":8080", "127.0.0.1:http", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:80x", "-1", "+80",
        "80.0", "80 80", "1.2.3:80", "1.2.3.4.5:80", "256.0.0.1:80", "127.000.000.001:80",
        "0x7f.0.0.1:80", "127.1:80", "[::1]", "[::1]:", "[::1]8080", "[::1:8080", "::1]:8080",
        "[127.0.0.1]:80", "[localhost]:80", "[]:80", "[::1]:80:80", "[fe80::1%eth0]:80",
        "[:::1]:80", "**:80", "*", "*:", "[*]:80", "1.2.3.4:8 0", "１２７.0.0.1:80", "127.0.0.1:８０",
        "127.0.0.1\u{0}junk:80", "[::1\u{0}]:80",
    ])
    func rejectsInvalid(text: String) {
        #expect(throws: UnitParseError.self) { try ListenAddress.parse(text) }
    }

    @Test(arguments: ["localhost:80", "", "example.com:443", "[::1]", "256.0.0.1:80", "[127.0.0.1]:80"])
    func genericInvalidMessage(text: String) {
        #expect(throws: invalidMessage(text)) { try ListenAddress.parse(text) }
    }

    @Test func bareIPv6GetsBracketHint() {
        #expect(throws: UnitParseError(
            "invalid listen address '::1:8080' (write IPv6 addresses in brackets, e.g. [::1]:8080)")) {
            try ListenAddress.parse("::1:8080")
        }
        #expect(throws: UnitParseError.self) { try ListenAddress.parse("::8080") }
    }

    @Test func hostIsCheckedBeforePort() {
        #expect(throws: invalidMessage("localhost:0")) { try ListenAddress.parse("localhost:0") }
    }

    @Test func boundaryPorts() throws {
        #expect(try ListenAddress.parse("1").map(\.port) == [1, 1])
        #expect(try ListenAddress.parse("65535").map(\.port) == [65535, 65535])
    }
}
