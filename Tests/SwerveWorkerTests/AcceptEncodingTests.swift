import Testing
import SwerveWorker

@Suite struct AcceptEncodingTests {
    @Test func noHeaderAcceptsNothing() {
        #expect(!AcceptEncoding.accepts(nil, "gzip"))
        #expect(!AcceptEncoding.accepts(nil, "br"))
    }

    @Test func emptyHeaderAcceptsNothing() {
        // RFC 9110 §12.5.3: an empty value means only "identity".
        #expect(!AcceptEncoding.accepts("", "gzip"))
    }

    @Test func listedCodings() {
        #expect(AcceptEncoding.accepts("gzip", "gzip"))
        #expect(AcceptEncoding.accepts("gzip, deflate, br", "br"))
        #expect(AcceptEncoding.accepts("gzip, deflate, br", "gzip"))
        #expect(AcceptEncoding.accepts("br,gzip", "gzip"))
        #expect(!AcceptEncoding.accepts("gzip, deflate", "br"))
        #expect(!AcceptEncoding.accepts("identity", "gzip"))
    }

    @Test func notASubstringMatch() {
        #expect(!AcceptEncoding.accepts("x-gzipx", "gzip"))
        #expect(!AcceptEncoding.accepts("brotli", "br"))
        #expect(!AcceptEncoding.accepts("gzip2", "gzip"))
    }

    @Test func qZeroRefuses() {
        #expect(!AcceptEncoding.accepts("gzip;q=0", "gzip"))
        #expect(!AcceptEncoding.accepts("gzip; q=0", "gzip"))
        #expect(!AcceptEncoding.accepts("gzip ;q=0.0", "gzip"))
        #expect(!AcceptEncoding.accepts("gzip;q=0.000", "gzip"))
        #expect(!AcceptEncoding.accepts("br, gzip;q=0", "gzip"))
        #expect(AcceptEncoding.accepts("br, gzip;q=0", "br"))
    }

    @Test func positiveQualityAccepts() {
        #expect(AcceptEncoding.accepts("gzip;q=1", "gzip"))
        #expect(AcceptEncoding.accepts("gzip;q=1.0", "gzip"))
        #expect(AcceptEncoding.accepts("gzip;q=0.5", "gzip"))
        #expect(AcceptEncoding.accepts("gzip;q=0.001", "gzip"))
        #expect(AcceptEncoding.accepts("br;q=0.8, gzip;q=0.9", "br"))
    }

    @Test func qualityParameterNameIsCaseInsensitive() {
        #expect(!AcceptEncoding.accepts("gzip;Q=0", "gzip"))
        #expect(AcceptEncoding.accepts("gzip;Q=0.7", "gzip"))
    }

    @Test func codingNamesAreCaseInsensitive() {
        #expect(AcceptEncoding.accepts("GZIP", "gzip"))
        #expect(AcceptEncoding.accepts("Gzip, BR", "br"))
        #expect(!AcceptEncoding.accepts("GZIP;q=0", "gzip"))
    }

    @Test func wildcard() {
        #expect(AcceptEncoding.accepts("*", "br"))
        #expect(AcceptEncoding.accepts("*", "gzip"))
        #expect(AcceptEncoding.accepts("*;q=0.1", "br"))
        #expect(!AcceptEncoding.accepts("*;q=0", "br"))
        #expect(!AcceptEncoding.accepts("*;q=0", "gzip"))
    }

    @Test func explicitCodingBeatsWildcard() {
        #expect(AcceptEncoding.accepts("*;q=0, gzip", "gzip"))
        #expect(!AcceptEncoding.accepts("*;q=0, gzip", "br"))
        #expect(AcceptEncoding.accepts("gzip, *;q=0", "gzip"))
        #expect(!AcceptEncoding.accepts("gzip;q=0, *", "gzip"))
        #expect(!AcceptEncoding.accepts("*, gzip;q=0", "gzip"))
        #expect(AcceptEncoding.accepts("*, gzip;q=0", "br"))
    }

    @Test func otherParametersAreIgnored() {
        #expect(AcceptEncoding.accepts("gzip;level=9", "gzip"))
        #expect(!AcceptEncoding.accepts("gzip;level=9;q=0", "gzip"))
    }

    @Test func malformedQualityRefuses() {
        #expect(!AcceptEncoding.accepts("gzip;q=abc", "gzip"))
    }

    @Test func emptyElementsAreTolerated() {
        #expect(AcceptEncoding.accepts(", ,gzip,", "gzip"))
    }
}
