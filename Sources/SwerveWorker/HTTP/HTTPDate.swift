import Glibc

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) formatting and parsing,
/// plus the access log's `[06/Nov/1994:08:49:37 +0000]` form. UTC only.
public enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func format(_ seconds: Int) -> String {
        let t = brokenDown(seconds)
        return "\(days[Int(t.tm_wday)]), \(two(t.tm_mday)) \(months[Int(t.tm_mon)]) \(t.tm_year + 1900) "
            + "\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec)) GMT"
    }

    /// `24/Nov/2026:19:13:18 +0000`, the time field of the combined log format.
    public static func formatLog(_ seconds: Int) -> String {
        let t = brokenDown(seconds)
        return "\(two(t.tm_mday))/\(months[Int(t.tm_mon)])/\(t.tm_year + 1900):"
            + "\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec)) +0000"
    }

    /// `2026-11-24T19:13:18Z` (RFC 3339), for JSON logs and the error log.
    public static func formatISO(_ seconds: Int) -> String {
        let t = brokenDown(seconds)
        return "\(t.tm_year + 1900)-\(two(t.tm_mon + 1))-\(two(t.tm_mday))T"
            + "\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec))Z"
    }

    /// Parses IMF-fixdate, RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
    /// (`Sun Nov  6 08:49:37 1994`), as RFC 9110 §5.6.7 asks recipients to.
    public static func parse(_ text: String) -> Int? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        var day: Int?, month: Int?, year: Int?, clock: String?
        if parts.count == 6, parts[5] == "GMT" {
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            day = Int(parts[1]); month = months.firstIndex(of: parts[2]); year = Int(parts[3]); clock = parts[4]
        } else if parts.count == 4, parts[3] == "GMT" {
            // RFC 850: Sunday 06-Nov-94 08:49:37 GMT
            let date = parts[1].split(separator: "-").map(String.init)
            // Two digits only: a client's "06-Nov-9223372036854775807" must not overflow.
            guard date.count == 3, date[2].utf8.count == 2, let two = Int(date[2]) else { return nil }
            day = Int(date[0]); month = months.firstIndex(of: date[1]); year = two < 70 ? 2000 + two : 1900 + two
            clock = parts[2]
        } else if parts.count == 5 {
            // asctime: Sun Nov 6 08:49:37 1994
            month = months.firstIndex(of: parts[1]); day = Int(parts[2]); clock = parts[3]; year = Int(parts[4])
        }
        // Years are bounded before any arithmetic: the text is the client's, and
        // Int32(year - 1900) traps beyond Int32 (a worker crash, not a 304).
        guard let day, let month, let year, let clock, (1...31).contains(day), (1970...9999).contains(year) else { return nil }
        let hms = clock.split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3, (0...23).contains(hms[0]), (0...59).contains(hms[1]), (0...60).contains(hms[2]) else { return nil }
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(hms[0])
        t.tm_min = Int32(hms[1])
        t.tm_sec = Int32(hms[2])
        let seconds = Int(timegm(&t))
        // timegm rolls "31 Feb" into March: a date that does not exist is no date.
        let check = brokenDown(seconds)
        guard check.tm_mday == Int32(day), check.tm_mon == Int32(month) else { return nil }
        return seconds
    }

    private static func brokenDown(_ seconds: Int) -> tm {
        var time = time_t(seconds)
        var result = tm()
        gmtime_r(&time, &result)
        return result
    }

    private static func two(_ value: Int32) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}

/// The current second's `Date` header and log timestamp, formatted at most
/// once a second. Confined to the worker's event loop thread.
public final class DateCache: @unchecked Sendable {
    private var second = -1
    private var http = ""
    private var log = ""
    private var iso = ""
    private var line = ""

    public init() {}

    /// "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", as a response head carries it.
    public var dateLine: String {
        refresh()
        return line
    }

    public var now: Int { Int(time(nil)) }

    public var httpDate: String {
        refresh()
        return http
    }

    public var logDate: String {
        refresh()
        return log
    }

    public var isoDate: String {
        refresh()
        return iso
    }

    private func refresh() {
        let current = now
        guard current != second else { return }
        second = current
        http = HTTPDate.format(current)
        line = "Date: " + http + "\r\n"
        log = HTTPDate.formatLog(current)
        iso = HTTPDate.formatISO(current)
    }
}
