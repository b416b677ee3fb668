import Testing
import SwerveConfig

@Suite("ByteSize")
struct ByteSizeTests {
    static let unitCases: [(String, Int)] = [
        ("0", 0),
        ("1", 1),
        ("1000", 1000),
        ("16384", 16384),
        ("512B", 512),
        ("512b", 512),
        ("1K", 1024),
        ("1k", 1024),
        ("1KB", 1024),
        ("1kb", 1024),
        ("16KiB", 16384),
        ("16kib", 16384),
        ("16KIB", 16384),
        ("1M", 1 << 20),
        ("1MB", 1 << 20),
        ("1MiB", 1 << 20),
        ("10mib", 10 << 20),
        ("20MiB", 20 << 20),
        ("1G", 1 << 30),
        ("1GB", 1 << 30),
        ("2GiB", 2 << 30),
        ("0K", 0),
        ("007K", 7 << 10),
    ]

    @Test(arguments: unitCases)
    func parsesUnits(text: String, expected: Int) throws {
        #expect(try ByteSize.parse(text) == expected)
    }

    @Test(arguments: [(String, Int)]([
        ("16 KiB", 16384),
        ("16\tKiB", 16384),
        ("  1M  ", 1 << 20),
        ("\t42\t", 42),
        ("1   G", 1 << 30),
    ]))
    func toleratesBlanks(text: String, expected: Int) throws {
        #expect(try ByteSize.parse(text) == expected)
    }

    @Test(arguments: [
        "", " ", "K", "KiB", "12XB", "12T", "12TiB", "1Kib2", "1 K iB", "1KK", "one", "0x10",
        "+5", "1_000", "1,000", "1e3", "12 34", "1K B", "١٢", "５K",
    ])
    func rejectsMalformed(text: String) {
        #expect(throws: UnitParseError.self) { try ByteSize.parse(text) }
    }

    @Test func messageNamesUnits() {
        #expect(throws: UnitParseError(
            "invalid size '12XB' (use a number with B, K, KiB, M, MiB, G or GiB)")) {
            try ByteSize.parse("12XB")
        }
        #expect(throws: UnitParseError(
            "invalid size '' (use a number with B, K, KiB, M, MiB, G or GiB)")) {
            try ByteSize.parse("")
        }
    }

    @Test func rejectsNegative() {
        for text in ["-1", "-1K", " -0"] {
            #expect(throws: UnitParseError("invalid size '\(text)' (sizes cannot be negative)")) {
                try ByteSize.parse(text)
            }
        }
    }

    @Test func rejectsDecimals() {
        for text in ["1.5M", "0.5K", "1,5M", "2."] {
            #expect(throws: UnitParseError.self) { try ByteSize.parse(text) }
        }
        #expect(throws: UnitParseError(
            "invalid size '1.5M' (use a whole number, e.g. 1536K instead of 1.5M)")) {
            try ByteSize.parse("1.5M")
        }
    }

    @Test func overflow() throws {
        #expect(try ByteSize.parse(String(Int.max)) == Int.max)
        #expect(try ByteSize.parse("8589934591G") == 8_589_934_591 << 30)
        for text in ["9223372036854775808", "99999999999999999999999", "8589934592G", "9007199254740992K"] {
            #expect(throws: UnitParseError("size '\(text)' is too large")) {
                try ByteSize.parse(text)
            }
        }
    }

    static let formatCases: [(Int, String)] = [
        (0, "0B"),
        (1, "1B"),
        (1000, "1000B"),
        (1023, "1023B"),
        (1024, "1KiB"),
        (1536, "1536B"),
        (16384, "16KiB"),
        (1_048_576, "1MiB"),
        (1_572_864, "1536KiB"),
        (10 << 20, "10MiB"),
        (1 << 30, "1GiB"),
        (3 << 30, "3GiB"),
        (1 << 40, "1024GiB"),
        ((1 << 30) + 1024, "1048577KiB"),
    ]

    @Test(arguments: formatCases)
    func formats(bytes: Int, expected: String) {
        #expect(ByteSize.format(bytes) == expected)
    }

    @Test func formatOfExtremes() {
        #expect(ByteSize.format(Int.max) == "\(Int.max)B")
        #expect(ByteSize.format(-1024) == "-1024B")
    }

    @Test func roundTrips() throws {
        var values = [0, 1, 2, 1023, 1024, 1025, 4096, 1 << 20, (1 << 20) + 1, 1 << 30, 5 << 30, Int.max]
        values += (0..<62).map { 1 << $0 }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            values.append(Int.random(in: 0...Int.max, using: &rng) >> Int.random(in: 0...62, using: &rng))
            values.append(Int.random(in: 0...(1 << 33), using: &rng) << 10)
        }
        for value in values {
            let text = ByteSize.format(value)
            #expect(try ByteSize.parse(text) == value, "\(value) → \(text)")
        }
    }

    @Test func parseThenFormatIsCanonical() throws {
        #expect(ByteSize.format(try ByteSize.parse("1024K")) == "1MiB")
        #expect(ByteSize.format(try ByteSize.parse("1 mb")) == "1MiB")
        #expect(ByteSize.format(try ByteSize.parse("2048")) == "2KiB")
    }
}

@Suite("DurationText")
struct DurationTextTests {
    static let parseCases: [(String, Duration)] = [
        ("0", .seconds(0)),
        ("30", .seconds(30)),
        ("30s", .seconds(30)),
        ("500ms", .milliseconds(500)),
        ("0ms", .zero),
        ("1m", .seconds(60)),
        ("2h", .seconds(7200)),
        ("1m30s", .seconds(90)),
        ("1h 30m", .seconds(5400)),
        ("1h30m15s", .seconds(5415)),
        ("1h30m15s250ms", .milliseconds(5_415_250)),
        ("1s500ms", .milliseconds(1500)),
        ("1h 500ms", .milliseconds(3_600_500)),
        ("90s", .seconds(90)),
        ("1500ms", .milliseconds(1500)),
        ("30 s", .seconds(30)),
        ("  15s ", .seconds(15)),
        ("1h\t30m", .seconds(5400)),
        ("1 h 30 m", .seconds(5400)),
        ("30S", .seconds(30)),
        ("500MS", .milliseconds(500)),
        ("500Ms", .milliseconds(500)),
        ("1M", .seconds(60)),
        ("2H", .seconds(7200)),
        ("010s", .seconds(10)),
    ]

    @Test(arguments: parseCases)
    func parses(text: String, expected: Duration) throws {
        #expect(try DurationText.parse(text) == expected)
    }

    @Test(arguments: [
        "", "   ", "s", "ms", "10x", "10sec", "10min", "1w", "1y", "h1",
        "1m30", "30s 5", "1 2s", "1s1", "+5s", "5s+", "1e3ms", "0x10s", "1h,30m", "1h;30m",
        "1h-30m", "३s",
    ])
    func rejectsMalformed(text: String) {
        #expect(throws: UnitParseError.self) { try DurationText.parse(text) }
    }

    @Test func messageNamesUnits() {
        #expect(throws: UnitParseError("invalid duration '10x' (use ms, s, m, h or d, e.g. 30s)")) {
            try DurationText.parse("10x")
        }
        #expect(throws: UnitParseError("invalid duration '' (use ms, s, m, h or d, e.g. 30s)")) {
            try DurationText.parse("")
        }
    }

    @Test(arguments: ["1s1m", "30m1h", "1s1s", "1m1m", "500ms1s", "1h 2h", "1m 2M"])
    func rejectsOutOfOrderOrRepeatedUnits(text: String) {
        #expect(throws: UnitParseError(
            "invalid duration '\(text)' (write each unit once, largest first, e.g. 1h30m)")) {
            try DurationText.parse(text)
        }
    }

    @Test func rejectsNegative() {
        for text in ["-1s", "-5", "1m -30s"] {
            #expect(throws: UnitParseError("invalid duration '\(text)' (durations cannot be negative)")) {
                try DurationText.parse(text)
            }
        }
    }

    @Test func rejectsDecimals() {
        for text in ["1.5s", "0.5h", "1m0.5s", "2,5s"] {
            #expect(throws: UnitParseError.self) { try DurationText.parse(text) }
        }
        #expect(throws: UnitParseError(
            "invalid duration '1.5s' (use whole numbers, e.g. 1500ms instead of 1.5s)")) {
            try DurationText.parse("1.5s")
        }
    }

    @Test func overflow() throws {
        #expect(try DurationText.parse("\(Int.max)ms") == .milliseconds(Int.max))
        for text in [
            "9223372036854775808ms", "99999999999999999999s", "\(Int.max / 1000 + 1)s",
            "\(Int.max / 3_600_000 + 1)h", "\(Int.max / 1000)s 1000ms", "2562047788015h 59m",
        ] {
            #expect(throws: UnitParseError("duration '\(text)' is too large")) {
                try DurationText.parse(text)
            }
        }
    }

    static let formatCases: [(Duration, String)] = [
        (.zero, "0s"),
        (.seconds(1), "1s"),
        (.seconds(30), "30s"),
        (.milliseconds(1500), "1500ms"),
        (.milliseconds(500), "500ms"),
        (.milliseconds(1), "1ms"),
        (.milliseconds(2000), "2s"),
        (.seconds(59), "59s"),
        (.seconds(60), "1m"),
        (.seconds(90), "90s"),
        (.seconds(120), "2m"),
        (.seconds(3600), "1h"),
        (.seconds(5400), "90m"),
        (.seconds(5415), "5415s"),
        (.seconds(86400), "1d"),
        (.milliseconds(3_600_500), "3600500ms"),
    ]

    @Test(arguments: formatCases)
    func formats(duration: Duration, expected: String) {
        #expect(DurationText.format(duration) == expected)
    }

    @Test func formatRoundsSubMilliseconds() {
        #expect(DurationText.format(.microseconds(1500)) == "2ms")
        #expect(DurationText.format(.microseconds(1499)) == "1ms")
        #expect(DurationText.format(.microseconds(999_999)) == "1s")
        #expect(DurationText.format(.nanoseconds(1)) == "0s")
        #expect(DurationText.format(.microseconds(-1500)) == "-2ms")
    }

    @Test func formatNegativeAndHuge() {
        #expect(DurationText.format(.seconds(-30)) == "-30s")
        #expect(DurationText.format(.seconds(-3600)) == "-1h")
        #expect(DurationText.format(.milliseconds(-1500)) == "-1500ms")
        // Too large for milliseconds in Int64: falls back to whole seconds.
        let huge = Duration.seconds(Int64.max / 10) + .milliseconds(1)
        #expect(DurationText.format(huge) == DurationText.format(.seconds(Int64.max / 10)))
        #expect(DurationText.format(huge) == "15372286728091293m")
    }

    @Test func roundTrips() throws {
        var values: [Duration] = [
            .zero, .milliseconds(1), .milliseconds(999), .seconds(1), .seconds(59), .seconds(61),
            .seconds(3599), .seconds(3601), .seconds(7200), .milliseconds(Int.max),
        ]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            values.append(.milliseconds(Int.random(in: 0...Int.max, using: &rng) >> Int.random(in: 0...62, using: &rng)))
            values.append(.seconds(Int.random(in: 0...1_000_000, using: &rng)))
            values.append(.seconds(60 * Int.random(in: 0...100_000, using: &rng)))
        }
        for value in values {
            let text = DurationText.format(value)
            #expect(try DurationText.parse(text) == value, "\(value) → \(text)")
        }
    }

    @Test func parseThenFormatIsCanonical() throws {
        #expect(DurationText.format(try DurationText.parse("1m30s")) == "90s")
        #expect(DurationText.format(try DurationText.parse("1h 30m")) == "90m")
        #expect(DurationText.format(try DurationText.parse("60m")) == "1h")
        #expect(DurationText.format(try DurationText.parse("1000ms")) == "1s")
        #expect(DurationText.format(try DurationText.parse("30")) == "30s")
    }
}

@Suite("UnitParseError")
struct UnitParseErrorTests {
    @Test func carriesMessage() {
        let error = UnitParseError("boom")
        #expect(error.message == "boom")
        #expect(error.description == "boom")
        #expect("\(error)" == "boom")
        #expect(error == UnitParseError("boom"))
        #expect(error != UnitParseError("bang"))
    }
}
