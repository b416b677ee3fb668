// Sizes ("16KiB") and durations ("1m30s") as written in config.yaml.
// Both follow nginx's conventions so operators can copy values across.

/// A config value that could not be read; `message` is shown to the user
/// verbatim (after `PATH:LINE:COL: error:`), so it says what to write instead.
public struct UnitParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Byte counts such as `max_body_size: 1MiB`.
///
/// Every unit is a power of 1024 (as nginx), so `1MB` and `1MiB` mean the same
/// and nobody has to remember which convention a limit uses.
public enum ByteSize {
    private static let hint = "use a number with B, K, KiB, M, MiB, G or GiB"

    /// "16KiB" → 16384. Units B, K, KB, KiB, M, MB, MiB, G, GB, GiB in any case,
    /// optionally separated from the number by blanks; a bare number is bytes.
    /// Anything else (negative, fractional, unknown unit, overflow) throws a
    /// message that names the accepted units.
    public static func parse(_ text: String) throws(UnitParseError) -> Int {
        let bytes = Array(text.utf8)
        var i = 0
        var end = bytes.count
        UnitLexer.trim(bytes, &i, &end)
        guard i < end else {
            throw UnitParseError("invalid size '\(text)' (\(hint))")
        }
        if bytes[i] == UInt8(ascii: "-") {
            throw UnitParseError("invalid size '\(text)' (sizes cannot be negative)")
        }
        guard let number = UnitLexer.number(bytes, &i, end) else {
            throw UnitParseError("invalid size '\(text)' (\(hint))")
        }
        guard let value = number else {
            throw UnitParseError("size '\(text)' is too large")
        }
        if i < end, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: ",") {
            throw UnitParseError("invalid size '\(text)' (use a whole number, e.g. 1536K instead of 1.5M)")
        }
        UnitLexer.skipBlanks(bytes, &i, end)
        let unit = UnitLexer.lowercasedASCII(bytes[i..<end])
        let multiplier: Int
        switch unit {
        case "", "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1 << 10
        case "m", "mb", "mib": multiplier = 1 << 20
        case "g", "gb", "gib": multiplier = 1 << 30
        default: throw UnitParseError("invalid size '\(text)' (\(hint))")
        }
        let (result, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else {
            throw UnitParseError("size '\(text)' is too large")
        }
        return result
    }

    /// The largest unit that divides exactly, so values read back unchanged:
    /// 16384 → "16KiB", 1048576 → "1MiB", 1000 → "1000B", 0 → "0B".
    public static func format(_ bytes: Int) -> String {
        guard bytes > 0 else { return "\(bytes)B" }
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30)GiB" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20)MiB" }
        if bytes % (1 << 10) == 0 { return "\(bytes >> 10)KiB" }
        return "\(bytes)B"
    }
}

/// Time spans such as `keepalive: 15s` or `shutdown_timeout: 1m30s`.
///
/// Accepts what nginx accepts for these units: `ms`, `s`, `m`, `h`, and `d`
/// (for `acme.renew_before`), combined largest-first ("1h 30m"); a bare
/// number is seconds. Millisecond precision is
/// all a server timeout needs, and keeps arithmetic in plain integers.
public enum DurationText {
    private static let hint = "use ms, s, m, h or d, e.g. 30s"

    /// "30s", "500ms", "1m30s", "1h 30m", "45" (seconds). Units in any case,
    /// each at most once and largest first. Throws on negatives, fractions,
    /// unknown units, empty text and values too large to represent.
    public static func parse(_ text: String) throws(UnitParseError) -> Duration {
        let bytes = Array(text.utf8)
        var i = 0
        var end = bytes.count
        UnitLexer.trim(bytes, &i, &end)
        guard i < end else {
            throw UnitParseError("invalid duration '\(text)' (\(hint))")
        }
        var totalMs = 0
        var lastRank = Int.max  // ranks: d 4, h 3, m 2, s 1, ms 0; must strictly decrease
        var components = 0
        while i < end {
            if bytes[i] == UInt8(ascii: "-") {
                throw UnitParseError("invalid duration '\(text)' (durations cannot be negative)")
            }
            guard let number = UnitLexer.number(bytes, &i, end) else {
                throw UnitParseError("invalid duration '\(text)' (\(hint))")
            }
            guard let value = number else {
                throw UnitParseError("duration '\(text)' is too large")
            }
            if i < end, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: ",") {
                throw UnitParseError("invalid duration '\(text)' (use whole numbers, e.g. 1500ms instead of 1.5s)")
            }
            UnitLexer.skipBlanks(bytes, &i, end)
            let unitStart = i
            while i < end, UnitLexer.isLetter(bytes[i]) { i += 1 }
            let unit = UnitLexer.lowercasedASCII(bytes[unitStart..<i])
            let rank: Int
            let msPerUnit: Int
            switch unit {
            case "":
                // A unitless number is seconds, but only when it stands alone:
                // "1m30" is more likely a typo than a deliberate 90 seconds.
                guard components == 0, i == end else {
                    throw UnitParseError("invalid duration '\(text)' (\(hint))")
                }
                rank = 1
                msPerUnit = 1000
            case "d": rank = 4; msPerUnit = 86_400_000
            case "h": rank = 3; msPerUnit = 3_600_000
            case "m": rank = 2; msPerUnit = 60_000
            case "s": rank = 1; msPerUnit = 1000
            case "ms": rank = 0; msPerUnit = 1
            default:
                throw UnitParseError("invalid duration '\(text)' (\(hint))")
            }
            guard rank < lastRank else {
                throw UnitParseError(
                    "invalid duration '\(text)' (write each unit once, largest first, e.g. 1h30m)")
            }
            lastRank = rank
            components += 1
            let (part, o1) = value.multipliedReportingOverflow(by: msPerUnit)
            let (sum, o2) = totalMs.addingReportingOverflow(part)
            guard !o1, !o2 else {
                throw UnitParseError("duration '\(text)' is too large")
            }
            totalMs = sum
            UnitLexer.skipBlanks(bytes, &i, end)
        }
        return .milliseconds(totalMs)
    }

    /// One exact unit, the largest that fits, so the value reads back unchanged:
    /// 30s → "30s", 1.5s → "1500ms", 90s → "90s", 3600s → "1h", 86400s → "1d", 0 → "0s".
    /// Sub-millisecond parts are rounded to the nearest millisecond.
    public static func format(_ d: Duration) -> String {
        let (seconds, attoseconds) = d.components
        if attoseconds == 0 {
            return formatSeconds(seconds)
        }
        let perMs: Int64 = 1_000_000_000_000_000
        let rounded = (attoseconds + (attoseconds < 0 ? -perMs / 2 : perMs / 2)) / perMs
        let (ms, o1) = seconds.multipliedReportingOverflow(by: 1000)
        let (total, o2) = ms.addingReportingOverflow(rounded)
        guard !o1, !o2 else { return formatSeconds(seconds) }
        if total % 1000 == 0 { return formatSeconds(total / 1000) }
        return "\(total)ms"
    }

    private static func formatSeconds(_ seconds: Int64) -> String {
        if seconds != 0, seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds != 0, seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds != 0, seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}

/// Byte-level helpers shared by the size and duration parsers. Working on
/// UTF-8 bytes keeps digits ASCII-only (no Unicode numerals slip through).
enum UnitLexer {
    static func isBlank(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t")
    }

    static func isLetter(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    static func trim(_ bytes: [UInt8], _ i: inout Int, _ end: inout Int) {
        while i < end, isBlank(bytes[i]) { i += 1 }
        while end > i, isBlank(bytes[end - 1]) { end -= 1 }
    }

    static func skipBlanks(_ bytes: [UInt8], _ i: inout Int, _ end: Int) {
        while i < end, isBlank(bytes[i]) { i += 1 }
    }

    /// Reads ASCII digits at `i`. Returns nil when there are none, `.some(nil)`
    /// when they overflow `Int`, else the value; `i` ends after the digits.
    static func number(_ bytes: [UInt8], _ i: inout Int, _ end: Int) -> Int?? {
        let start = i
        var value = 0
        var overflowed = false
        while i < end, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            let digit = Int(bytes[i] - UInt8(ascii: "0"))
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(digit)
            if o1 || o2 { overflowed = true }
            value = s
            i += 1
        }
        if i == start { return nil }
        return overflowed ? .some(nil) : .some(value)
    }

    static func lowercasedASCII(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
