import Testing
import SwerveWorker

@Suite struct ByteRangesTests {
    private func range(_ header: String?, size: Int = 1000) -> ByteRangeRequest {
        ByteRangeRequest(header: header, size: size)
    }

    @Test func noHeaderIsWhole() {
        #expect(range(nil) == .whole)
        #expect(range(nil, size: 0) == .whole)
    }

    // MARK: satisfiable single ranges

    @Test func firstLast() {
        #expect(range("bytes=0-499") == .partial(0...499))
        #expect(range("bytes=500-999") == .partial(500...999))
        #expect(range("bytes=0-0") == .partial(0...0))
        #expect(range("bytes=999-999") == .partial(999...999))
        #expect(range("bytes=10-10") == .partial(10...10))
    }

    @Test func openEnded() {
        #expect(range("bytes=500-") == .partial(500...999))
        #expect(range("bytes=0-") == .partial(0...999))
        #expect(range("bytes=999-") == .partial(999...999))
    }

    @Test func suffix() {
        #expect(range("bytes=-200") == .partial(800...999))
        #expect(range("bytes=-1") == .partial(999...999))
        #expect(range("bytes=-1000") == .partial(0...999))
    }

    @Test func beyondEndIsClamped() {
        #expect(range("bytes=900-2000") == .partial(900...999))
        #expect(range("bytes=0-1000") == .partial(0...999))
        #expect(range("bytes=-5000") == .partial(0...999))
        #expect(range("bytes=0-5", size: 3) == .partial(0...2))
    }

    @Test func unitIsCaseInsensitiveAndSpacesAreTolerated() {
        #expect(range("Bytes=0-9") == .partial(0...9))
        #expect(range("BYTES=0-9") == .partial(0...9))
        #expect(range("  bytes=0-9  ") == .partial(0...9))
        #expect(range("bytes= 0-9") == .partial(0...9))
    }

    // MARK: unsatisfiable

    @Test func startAtOrBeyondSizeIsUnsatisfiable() {
        #expect(range("bytes=1000-") == .unsatisfiable)
        #expect(range("bytes=1000-1000") == .unsatisfiable)
        #expect(range("bytes=1000-2000") == .unsatisfiable)
        #expect(range("bytes=5000-") == .unsatisfiable)
    }

    @Test func suffixOfZeroIsUnsatisfiable() {
        #expect(range("bytes=-0") == .unsatisfiable)
        #expect(range("bytes=-000") == .unsatisfiable)
    }

    @Test func emptyFile() {
        #expect(range("bytes=0-", size: 0) == .unsatisfiable)
        #expect(range("bytes=0-0", size: 0) == .unsatisfiable)
        #expect(range("bytes=-1", size: 0) == .unsatisfiable)
        #expect(range("bytes=-0", size: 0) == .unsatisfiable)
    }

    // MARK: ignored → whole

    @Test func multipleRangesAreWhole() {
        #expect(range("bytes=0-1,5-6") == .whole)
        #expect(range("bytes=0-1, 5-6") == .whole)
        #expect(range("bytes=-5,0-1") == .whole)
        #expect(range("bytes=0-,0-") == .whole)
    }

    @Test(arguments: [
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=abc",
        "bytes=a-b",
        "bytes=1-b",
        "bytes=a-5",
        "bytes=-a",
        "bytes=5-3",            // last < first: invalid range-spec
        "bytes=1-2-3",
        "bytes=+1-2",
        "bytes=1-+2",
        "bytes=--5",
        "bytes=0x10-0x20",
        "bytes=1.5-2",
        "bytes 0-1",
        "0-1",
        "=0-1",
        "",
    ])
    func malformedIsWhole(header: String) {
        #expect(range(header) == .whole)
    }

    @Test(arguments: ["items=0-5", "pages=1-2", "none", "byte=0-5", "bytesx=0-5"])
    func otherUnitsAreWhole(header: String) {
        #expect(range(header) == .whole)
    }

    @Test func resultsAlwaysLieInsideTheFile() {
        let headers = ["bytes=0-", "bytes=-1", "bytes=-10", "bytes=3-7", "bytes=0-100", "bytes=5-", "bytes=9-9"]
        for size in 0...12 {
            for header in headers {
                switch range(header, size: size) {
                case .partial(let bytes):
                    #expect(bytes.lowerBound >= 0 && bytes.upperBound < size, "\(header) size \(size)")
                case .unsatisfiable:
                    #expect(size == 0 || header.hasPrefix("bytes=") && Int(header.dropFirst(6).prefix { $0 != "-" }).map { $0 >= size } == true,
                            "\(header) size \(size)")
                case .whole:
                    Issue.record("\(header) on size \(size) should not be whole")
                }
            }
        }
    }
}
