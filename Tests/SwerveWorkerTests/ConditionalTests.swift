import Testing
import SwerveWorker

@Suite struct ConditionalTests {
    static let modified = 0x5f1e_2d3c  // Mon, 27 Jul 2020 01:26:20 GMT
    let file = FileValidators(modified: ConditionalTests.modified, size: 0x400)
    var etag: String { file.etag }
    var date: String { HTTPDate.format(Self.modified) }

    // MARK: validators

    @Test func etagShape() {
        #expect(file.etag == "\"5f1e2d3c-400\"")
        #expect(FileValidators(modified: 0, size: 0).etag == "\"0-0\"")
        #expect(FileValidators(modified: 1_795_547_598, size: 1024).etag == "\"6b05e1ce-400\"")
        #expect(FileValidators(modified: 255, size: 4095).etag == "\"ff-fff\"")
    }

    @Test func etagIsStrongQuotedLowercaseHex() {
        let tag = FileValidators(modified: 0xABCDEF, size: 0xFEDCBA).etag
        #expect(tag.hasPrefix("\"") && tag.hasSuffix("\""))
        #expect(!tag.hasPrefix("W/"))
        #expect(tag == "\"abcdef-fedcba\"")
    }

    @Test func etagChangesWithSizeOrTime() {
        #expect(FileValidators(modified: 1, size: 2).etag != FileValidators(modified: 1, size: 3).etag)
        #expect(FileValidators(modified: 1, size: 2).etag != FileValidators(modified: 2, size: 2).etag)
    }

    @Test func lastModifiedIsIMFFixdate() {
        #expect(file.lastModified == HTTPDate.format(Self.modified))
        #expect(FileValidators(modified: 784_111_777, size: 1).lastModified == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    // MARK: If-None-Match

    @Test func noConditionsIsModified() {
        #expect(!file.isNotModified(ifNoneMatch: nil, ifModifiedSince: nil))
    }

    @Test func ifNoneMatchExact() {
        #expect(file.isNotModified(ifNoneMatch: etag, ifModifiedSince: nil))
        #expect(file.isNotModified(ifNoneMatch: "  \(etag)  ", ifModifiedSince: nil))
    }

    @Test func ifNoneMatchOther() {
        #expect(!file.isNotModified(ifNoneMatch: "\"5f1e2d3c-401\"", ifModifiedSince: nil))
        #expect(!file.isNotModified(ifNoneMatch: "5f1e2d3c-400", ifModifiedSince: nil))  // unquoted
        #expect(!file.isNotModified(ifNoneMatch: "", ifModifiedSince: nil))
    }

    @Test func ifNoneMatchList() {
        #expect(file.isNotModified(ifNoneMatch: "\"a\", \(etag)", ifModifiedSince: nil))
        #expect(file.isNotModified(ifNoneMatch: "\(etag),\"b\"", ifModifiedSince: nil))
        #expect(file.isNotModified(ifNoneMatch: "\"a\",\"b\" ,\t\(etag)", ifModifiedSince: nil))
        #expect(!file.isNotModified(ifNoneMatch: "\"a\", \"b\", \"c\"", ifModifiedSince: nil))
    }

    @Test func ifNoneMatchUsesWeakComparison() {
        #expect(file.isNotModified(ifNoneMatch: "W/\(etag)", ifModifiedSince: nil))
        #expect(file.isNotModified(ifNoneMatch: "\"x\", W/\(etag)", ifModifiedSince: nil))
        #expect(!file.isNotModified(ifNoneMatch: "W/\"other\"", ifModifiedSince: nil))
    }

    @Test func ifNoneMatchStar() {
        #expect(file.isNotModified(ifNoneMatch: "*", ifModifiedSince: nil))
        #expect(file.isNotModified(ifNoneMatch: " * ", ifModifiedSince: nil))
    }

    @Test func ifNoneMatchWinsOverIfModifiedSince() {
        let later = HTTPDate.format(Self.modified + 3600)
        let earlier = HTTPDate.format(Self.modified - 3600)
        // Non-matching tag: modified, even though the date alone would say 304.
        #expect(!file.isNotModified(ifNoneMatch: "\"other\"", ifModifiedSince: later))
        #expect(!file.isNotModified(ifNoneMatch: "\"other\"", ifModifiedSince: date))
        // Matching tag: not modified, even though the date alone would say 200.
        #expect(file.isNotModified(ifNoneMatch: etag, ifModifiedSince: earlier))
        #expect(file.isNotModified(ifNoneMatch: etag, ifModifiedSince: "garbage"))
    }

    // MARK: If-Modified-Since

    @Test func ifModifiedSinceOlderIsModified() {
        #expect(!file.isNotModified(ifNoneMatch: nil, ifModifiedSince: HTTPDate.format(Self.modified - 1)))
        #expect(!file.isNotModified(ifNoneMatch: nil, ifModifiedSince: "Sun, 06 Nov 1994 08:49:37 GMT"))
    }

    @Test func ifModifiedSinceEqualIsNotModified() {
        #expect(file.isNotModified(ifNoneMatch: nil, ifModifiedSince: date))
    }

    @Test func ifModifiedSinceNewerIsNotModified() {
        #expect(file.isNotModified(ifNoneMatch: nil, ifModifiedSince: HTTPDate.format(Self.modified + 1)))
        #expect(file.isNotModified(ifNoneMatch: nil, ifModifiedSince: HTTPDate.format(Self.modified + 86_400)))
    }

    @Test func ifModifiedSinceObsoleteFormsAreParsed() {
        // 2020-07-27 01:26:20 GMT was a Monday.
        #expect(date == "Mon, 27 Jul 2020 01:26:20 GMT")
        #expect(file.isNotModified(ifNoneMatch: nil, ifModifiedSince: "Monday, 27-Jul-20 01:26:20 GMT"))
        #expect(file.isNotModified(ifNoneMatch: nil, ifModifiedSince: "Mon Jul 27 01:26:20 2020"))
        #expect(!file.isNotModified(ifNoneMatch: nil, ifModifiedSince: "Mon Jul 27 01:26:19 2020"))
    }

    @Test func ifModifiedSinceGarbageIsIgnored() {
        #expect(!file.isNotModified(ifNoneMatch: nil, ifModifiedSince: "garbage"))
        #expect(!file.isNotModified(ifNoneMatch: nil, ifModifiedSince: ""))
        #expect(!file.isNotModified(ifNoneMatch: nil, ifModifiedSince: "\(Self.modified)"))
    }

    // MARK: If-Range

    @Test func ifRangeAbsentHolds() {
        #expect(file.ifRangeHolds(nil))
    }

    @Test func ifRangeStrongEtagMatch() {
        #expect(file.ifRangeHolds(etag))
        #expect(file.ifRangeHolds(" \(etag) "))
    }

    @Test func ifRangeWeakEtagNeverHolds() {
        // RFC 9110 §13.1.5: If-Range needs the strong comparison.
        #expect(!file.ifRangeHolds("W/\(etag)"))
    }

    @Test func ifRangeOtherEtagFails() {
        #expect(!file.ifRangeHolds("\"5f1e2d3c-401\""))
        #expect(!file.ifRangeHolds("\"\""))
        #expect(!file.ifRangeHolds("\(etag), \"x\""))  // If-Range takes one validator, not a list
    }

    @Test func ifRangeExactDateHolds() {
        #expect(file.ifRangeHolds(date))
        #expect(file.ifRangeHolds("Mon Jul 27 01:26:20 2020"))
    }

    @Test func ifRangeOtherDateFails() {
        #expect(!file.ifRangeHolds(HTTPDate.format(Self.modified + 1)))  // later is not enough
        #expect(!file.ifRangeHolds(HTTPDate.format(Self.modified - 1)))
    }

    @Test func ifRangeGarbageFails() {
        #expect(!file.ifRangeHolds("garbage"))
        #expect(!file.ifRangeHolds(""))
        #expect(!file.ifRangeHolds("*"))
    }

    // MARK: precomputed tag

    @Test func precomputedEtagIsUsedWhenGiven() {
        let tag = "\"cached-tag\""
        #expect(file.isNotModified(etag: tag, ifNoneMatch: tag, ifModifiedSince: nil))
        #expect(file.isNotModified(etag: tag, ifNoneMatch: "W/\(tag)", ifModifiedSince: nil))
        #expect(!file.isNotModified(etag: tag, ifNoneMatch: etag, ifModifiedSince: nil))
        #expect(file.ifRangeHolds(tag, etag: tag))
        #expect(!file.ifRangeHolds("W/\(tag)", etag: tag))
        #expect(!file.ifRangeHolds(etag, etag: tag))
        #expect(file.ifRangeHolds(date, etag: tag))
    }

    // MARK: list helper

    @Test func listStrongOnlySkipsWeakTags() {
        #expect(!FileValidators.list("W/\"a\"", matches: "\"a\"", weak: false))
        #expect(FileValidators.list("W/\"a\", \"a\"", matches: "\"a\"", weak: false))
        #expect(FileValidators.list("W/\"a\"", matches: "\"a\"", weak: true))
    }
}
