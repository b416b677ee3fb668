import Testing
import SwerveWorker

@Suite struct HTTPDateTests {
    /// RFC 9110 §5.6.7's example instant: Sun, 06 Nov 1994 08:49:37 GMT.
    static let rfcExample = 784_111_777
    /// SPEC §5's example instant: 24/Nov/2026:19:13:18 +0000.
    static let specExample = 1_795_547_598

    // MARK: format

    @Test func formatsIMFFixdate() {
        #expect(HTTPDate.format(Self.rfcExample) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(Self.specExample) == "Tue, 24 Nov 2026 19:13:18 GMT")
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(951_868_799) == "Tue, 29 Feb 2000 23:59:59 GMT")
        #expect(HTTPDate.format(2_147_483_648) == "Tue, 19 Jan 2038 03:14:08 GMT")
    }

    @Test func formatsLogTime() {
        #expect(HTTPDate.formatLog(Self.specExample) == "24/Nov/2026:19:13:18 +0000")
        #expect(HTTPDate.formatLog(Self.rfcExample) == "06/Nov/1994:08:49:37 +0000")
        #expect(HTTPDate.formatLog(0) == "01/Jan/1970:00:00:00 +0000")
    }

    @Test func formatsISO() {
        #expect(HTTPDate.formatISO(Self.specExample) == "2026-11-24T19:13:18Z")
        #expect(HTTPDate.formatISO(Self.rfcExample) == "1994-11-06T08:49:37Z")
        #expect(HTTPDate.formatISO(0) == "1970-01-01T00:00:00Z")
        #expect(HTTPDate.formatISO(951_868_799) == "2000-02-29T23:59:59Z")
    }

    @Test func formatHasFixedWidth() {
        // IMF-fixdate is always 29 characters; the log form 26; RFC 3339 20.
        for seconds in stride(from: 0, to: 4_000_000_000, by: 86_399 * 37 + 13) {
            #expect(HTTPDate.format(seconds).count == 29)
            #expect(HTTPDate.formatLog(seconds).count == 26)
            #expect(HTTPDate.formatISO(seconds).count == 20)
        }
    }

    // MARK: parse

    @Test func parsesTheThreeRFC9110Forms() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == Self.rfcExample)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == Self.rfcExample)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == Self.rfcExample)
    }

    @Test func parsesAsctimeWithTwoDigitDay() {
        #expect(HTTPDate.parse("Tue Nov 24 19:13:18 2026") == Self.specExample)
    }

    @Test func parsesRFC850In2000s() {
        #expect(HTTPDate.parse("Tuesday, 24-Nov-26 19:13:18 GMT") == Self.specExample)
    }

    @Test(arguments: [
        0, 1, 59, 3600, 86_399, 86_400,
        784_111_777, 951_868_799, 951_868_800, 1_795_547_598,
        2_147_483_647, 2_147_483_648, 4_102_444_800, 253_402_300_799,
    ])
    func roundTrips(seconds: Int) {
        #expect(HTTPDate.parse(HTTPDate.format(seconds)) == seconds)
    }

    @Test func roundTripsAcrossManyDays() {
        var seconds = 0
        while seconds < 4_200_000_000 {
            #expect(HTTPDate.parse(HTTPDate.format(seconds)) == seconds)
            seconds += 7_777_777
        }
    }

    @Test(arguments: [
        "",
        " ",
        "garbage",
        "0",
        "1994-11-06T08:49:37Z",
        "Sun, 06 Nov 1994 08:49:37",          // no zone
        "Sun, 06 Nov 1994 08:49:37 UTC",      // not GMT
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun, 06 Foo 1994 08:49:37 GMT",      // bad month
        "Sun, 06 nov 1994 08:49:37 GMT",      // month names are case-sensitive
        "Sun, 00 Nov 1994 08:49:37 GMT",      // day 0
        "Sun, 32 Nov 1994 08:49:37 GMT",      // day 32
        "Sun, xx Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",      // hour 24
        "Sun, 06 Nov 1994 08:60:00 GMT",      // minute 60
        "Sun, 06 Nov 1994 08:49:61 GMT",      // second 61
        "Sun, 06 Nov 1994 08:49 GMT",         // no seconds
        "Sun, 06 Nov 1994 08:49:37:00 GMT",
        "Sun, 06 Nov 1994 8h49m37 GMT",
        "Sun, 06 Nov 1969 08:49:37 GMT",      // before the epoch
        "Sun, 06 Nov year 08:49:37 GMT",
        // Years a client may send to overflow the arithmetic (these crashed the worker).
        "Sun, 06 Nov 2147485548 08:49:37 GMT",
        "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
        "Sun Nov 6 08:49:37 2147485548",
        "Sunday, 06-Nov-2147483648 08:49:37 GMT",
        "Sunday, 06-Nov-9223372036854775807 08:49:37 GMT",
        "Sun, 06 Nov 10000 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37",         // RFC 850 without zone
        "Sunday, 06-Nov-xx 08:49:37 GMT",
        "Sunday, 06-Nov 08:49:37 GMT",
        "Sun Nov  6 08:49:37",                // asctime without year
        "Sun Foo  6 08:49:37 1994",
        "Sun Nov 99 08:49:37 1994",
    ])
    func garbageIsNil(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    /// A date that does not exist is not a valid HTTP-date (RFC 9110 §5.6.7),
    /// and an invalid If-Modified-Since must be ignored (§13.1.3) rather than
    /// silently moved to another day by timegm's normalisation.
    @Test(arguments: [
        "Thu, 31 Feb 2000 00:00:00 GMT",
        "Sat, 30 Feb 1999 12:00:00 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Tue, 29 Feb 2100 00:00:00 GMT",
    ])
    func nonexistentCalendarDatesAreNil(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    @Test func leapDayIsValid() {
        #expect(HTTPDate.parse("Tue, 29 Feb 2000 23:59:59 GMT") == 951_868_799)
    }

    // MARK: DateCache

    @Test func dateCacheFormsAgree() {
        let cache = DateCache()
        // The three strings are for the same second unless a second boundary
        // falls between the reads; retry once in that (rare) case.
        for _ in 0..<3 {
            let before = cache.now
            let http = cache.httpDate, log = cache.logDate, iso = cache.isoDate
            guard cache.now == before else { continue }
            #expect(HTTPDate.parse(http) == before)
            #expect(log == HTTPDate.formatLog(before))
            #expect(iso == HTTPDate.formatISO(before))
            return
        }
    }
}
