import Foundation
import MultipartKit
import NIOCore
import Testing
import SwerveWorker

/// `MultipartFramer` + multipart-kit, as `UploadSink` drives them: parts come
/// out whole whatever the split points, hostile header blocks are refused
/// (never a trap), and the pair agrees with multipart-kit alone.
@Suite struct MultipartFramerTests {
    static let boundary = "swerveTestBoundary7MA4YWxk"

    struct ParsedPart: Equatable {
        var headers: [String]
        var content: [UInt8]
    }

    struct Outcome: Equatable {
        var parts: [ParsedPart]
        var finished: Bool
    }

    /// Runs `body`, cut at `splits`, through the framer and multipart-kit's header parsing.
    static func parse(_ body: [UInt8], splits: [Int] = [], boundary: String = boundary) throws -> Outcome {
        var framer = MultipartFramer(boundary: boundary)
        let parser = MultipartParser(boundary: boundary)
        var headers: [String] = []
        var parts: [ParsedPart] = []
        var open = false
        parser.onHeader = { headers.append("\($0): \($1)") }
        parser.onBody = { _ in Issue.record("multipart-kit saw content") }
        var finished = false
        var start = 0
        for end in (splits.filter { $0 > 0 && $0 < body.count }.sorted() + [body.count]) where end > start {
            try framer.feed(ByteBuffer(bytes: body[start..<end])) { event in
                switch event {
                case .structure(let bytes): try parser.execute(bytes)
                case .partBegins:
                    #expect(!open)
                    parts.append(ParsedPart(headers: headers, content: []))
                    headers = []
                    open = true
                case .content(let bytes):
                    #expect(open)
                    parts[parts.count - 1].content += Array(bytes.readableBytesView)
                case .partEnds:
                    #expect(open)
                    open = false
                case .finished:
                    finished = true
                }
            }
            start = end
        }
        return Outcome(parts: parts, finished: finished)
    }

    /// multipart-kit on its own (only for inputs without bytes ≥ 0x80, which would trap it).
    static func parseWithMultipartKitAlone(_ body: [UInt8], boundary: String = boundary) throws -> [ParsedPart] {
        let parser = MultipartParser(boundary: boundary)
        var headers: [String] = []
        var parts: [ParsedPart] = []
        var current: ParsedPart?
        parser.onHeader = { headers.append("\($0): \($1)") }
        parser.onBody = { buffer in
            if current == nil { current = ParsedPart(headers: headers, content: []) }
            current!.content += Array(buffer.readableBytesView)
        }
        parser.onPartComplete = {
            parts.append(current ?? ParsedPart(headers: headers, content: []))
            current = nil
            headers = []
        }
        try parser.execute(body)
        return parts
    }

    static func body(_ parts: [(headers: [String], content: [UInt8])], boundary: String = boundary,
                     preamble: String = "", epilogue: String = "") -> [UInt8] {
        var out = Array(preamble.utf8)
        for part in parts {
            out += Array("--\(boundary)\r\n".utf8)
            for header in part.headers { out += Array("\(header)\r\n".utf8) }
            out += Array("\r\n".utf8) + part.content + Array("\r\n".utf8)
        }
        return out + Array("--\(boundary)--\r\n\(epilogue)".utf8)
    }

    static let tricky: [UInt8] = Array("a\r\nb\r\n-\r\n--\r\n--swerve\r\n--swerveTestBoundary7MA4YWx\r\r\n\r\n--".utf8)
        + [0, 0xFF, 0x0D] + Array("--swerveTestBoundary7MA4YWxk".utf8) + [0x0D]

    @Test func partsComeOutWholeAtEverySplitPoint() throws {
        let parts: [(headers: [String], content: [UInt8])] = [
            (["Content-Disposition: form-data; name=\"title\""], Array("Dög <3".utf8)),
            (["Content-Disposition: form-data; name=\"file\"; filename=\"a.bin\"", "Content-Type: image/png"], Self.tricky),
            (["Content-Disposition: form-data; name=\"empty\""], []),
        ]
        let body = Self.body(parts, preamble: "ignored preamble\r\n", epilogue: "ignored epilogue")
        let expected = Outcome(parts: parts.map { ParsedPart(headers: $0.headers, content: $0.content) }, finished: true)
        #expect(try Self.parse(body) == expected)
        for split in 1..<body.count {
            #expect(try Self.parse(body, splits: [split]) == expected, "split at \(split)")
        }
        // One byte at a time: every state crossed at every boundary.
        #expect(try Self.parse(body, splits: Array(1..<body.count)) == expected)
        #expect(try Self.parseWithMultipartKitAlone(body.filter { $0 < 0x80 }).count == 3)
    }

    @Test func randomPartsRoundTripWithRandomSplits() throws {
        var random = SeededRandom(seed: 13)
        let pieces: [[UInt8]] = [[13], [10], [13, 10], Array("--".utf8), Array("\r\n--swerveTest".utf8),
                                 Array("\r\n--swerveTestBoundary7MA4YWx".utf8), [0xFF], [0], Array("z".utf8)]
        for round in 0..<300 {
            let parts = (0..<Int.random(in: 1...4, using: &random)).map { index -> (headers: [String], content: [UInt8]) in
                var content: [UInt8] = []
                for _ in 0..<Int.random(in: 0...40, using: &random) { content += pieces.randomElement(using: &random)! }
                return (["Content-Disposition: form-data; name=\"p\(index)\""], content)
            }
            let body = Self.body(parts)
            let splits = (0..<Int.random(in: 0...6, using: &random)).map { _ in Int.random(in: 0...body.count, using: &random) }
            let outcome = try Self.parse(body, splits: splits)
            #expect(outcome.finished, "round \(round)")
            #expect(outcome.parts.map(\.content) == parts.map(\.content), "round \(round), splits \(splits)")
        }
    }

    @Test(arguments: [
        "X\u{e9}: y",                // é: a byte >= 0x80 in a name (this trapped multipart-kit)
        "\u{ff}",
        "Content-Type: a\nb",         // a bare LF in a value (a forged log line)
        "Content-Type: a\u{1b}[31m",  // ESC in a value
        "Content-Type: a\u{0}b",
        ": no name",
        "No colon",
        "Spaced Name: x",
    ])
    func hostileHeaderBlocksAreRefused(header: String) {
        let body = Array("--B\r\n\(header)\r\n\r\ncontent\r\n--B--\r\n".utf8)
        #expect(throws: MultipartFramer.Malformed.self) { try Self.parse(body, boundary: "B") }
        for split in 1..<body.count {
            #expect(throws: MultipartFramer.Malformed.self) { try Self.parse(body, splits: [split], boundary: "B") }
        }
    }

    @Test func theSixByteBodyThatKilledWorkersIsRefused() {
        #expect(throws: MultipartFramer.Malformed.self) { try Self.parse(Array("--B\r\n".utf8) + [0xFF], boundary: "B") }
    }

    @Test func anOversizedHeaderBlockIsRefused() {
        let long = "X-Long: " + String(repeating: "a", count: MultipartFramer.maxHeaderBlock)
        #expect(throws: MultipartFramer.Malformed.self) {
            try Self.parse(Array("--B\r\n\(long)\r\n\r\nx\r\n--B--".utf8), boundary: "B")
        }
    }

    @Test func delimiterSyntaxIsChecked() throws {
        #expect(throws: MultipartFramer.Malformed.self) { try Self.parse(Array("--B \r\n\r\nx\r\n--B--".utf8), boundary: "B") }
        #expect(throws: MultipartFramer.Malformed.self) { try Self.parse(Array("--B\r\n\r\nx\r\n--BX".utf8), boundary: "B") }
        // Without its close delimiter a body is not finished.
        #expect(try Self.parse(Array("--B\r\n\r\nx\r\n--B\r\n\r\ny".utf8), boundary: "B").finished == false)
        // A delimiter must start a line: "x--B" is content.
        let outcome = try Self.parse(Array("--B\r\n\r\nx--B\r\n--B--".utf8), boundary: "B")
        #expect(outcome.parts.map(\.content) == [Array("x--B".utf8)])
    }

    @Test func contentIsPassedOnWithoutCopyingIntoSmallPieces() throws {
        // A 1 MiB body of CRs (which multipart-kit split into a million one-byte buffers).
        let size = 1 << 20
        let body = Array("--B\r\n\r\n".utf8) + [UInt8](repeating: 13, count: size) + Array("\r\n--B--".utf8)
        var framer = MultipartFramer(boundary: "B")
        var pieces = 0, bytes = 0
        var offset = 0
        while offset < body.count {
            let end = min(offset + 65536, body.count)
            try framer.feed(ByteBuffer(bytes: body[offset..<end])) { event in
                if case .content(let buffer) = event {
                    pieces += 1
                    bytes += buffer.readableBytes
                }
            }
            offset = end
        }
        #expect(bytes == size)
        #expect(pieces <= 2 * (body.count / 65536 + 1), "\(pieces) pieces")
    }

    /// Mutated bodies (bytes flipped, inserted, dropped, cut short) never trap,
    /// and whenever the pair accepts an input without bytes ≥ 0x80, multipart-kit
    /// alone finds the same parts. `SWERVE_FUZZ_ROUNDS` runs longer (docs/architecture.md).
    @Test func mutatedBodiesNeverTrapAndAgreeWithMultipartKit() throws {
        let rounds = Int(ProcessInfo.processInfo.environment["SWERVE_FUZZ_ROUNDS"] ?? "") ?? 100_000
        var random = SeededRandom(seed: 0x5EED)
        let seeds: [[UInt8]] = [
            Self.body([(["Content-Disposition: form-data; name=\"t\""], Array("hello".utf8)),
                       (["Content-Disposition: form-data; name=\"f\"; filename=\"x.png\"", "Content-Type: image/png"], Self.tricky)],
                      boundary: "Bnd"),
            Array("--Bnd\r\nA: b\r\n\r\n\r\n--Bnd--".utf8),
        ]
        let alphabet: [UInt8] = Array("\r\n-Bnd: \"=;AaZz".utf8) + [0, 0x7F, 0x80, 0xC3, 0xE9, 0xFF, 9]
        var agreed = 0
        for _ in 0..<rounds {
            var body = seeds.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                guard !body.isEmpty else { break }
                let at = Int.random(in: 0..<body.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: body[at] = alphabet.randomElement(using: &random)!
                case 1: body.insert(alphabet.randomElement(using: &random)!, at: at)
                case 2: body.remove(at: at)
                default: body.removeLast(Int.random(in: 0...min(8, body.count), using: &random))
                }
            }
            let splits = [Int.random(in: 0...body.count, using: &random)]
            guard let outcome = try? Self.parse(body, splits: splits, boundary: "Bnd") else { continue }
            if outcome.finished && body.allSatisfy({ $0 < 0x80 }),
               let alone = try? Self.parseWithMultipartKitAlone(body, boundary: "Bnd") {
                #expect(alone.map(\.content) == outcome.parts.map(\.content), "\(body)")
                #expect(alone.map(\.headers) == outcome.parts.map(\.headers), "\(body)")
                agreed += 1
            }
        }
        #expect(agreed > rounds / 100, "only \(agreed) inputs were comparable")
    }
}

/// SplitMix64, a tiny seeded PRNG: the same generated inputs on every run.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

