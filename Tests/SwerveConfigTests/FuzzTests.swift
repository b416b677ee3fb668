import Testing
import SwerveConfig

/// Deterministic 64-bit PRNG (Steele, Lea & Flood's SplitMix64): same seed,
/// same mutations on every run and machine.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutations of the shipped config: every one must load to either a config
/// with no errors or no config with errors at real positions, never a crash
/// or a hang.
@Suite("Fuzz")
struct FuzzTests {
    /// Tests/SwerveConfigTests/FuzzTests.swift → <repo>/config.
    static let configFolder: String = {
        let testFile = FileSystem.normalise(#filePath)
        return FileSystem.parent(of: FileSystem.parent(of: FileSystem.parent(of: testFile))) + "/config"
    }()

    static func shippedConfig() throws -> [UInt8] {
        switch FileSystem.readFile(configFolder + "/config.yaml", limit: ConfigLoader.maxFileSize) {
        case .success(let bytes): return bytes
        case .failure(let error): throw TempDirError("cannot read \(configFolder)/config.yaml: \(error)")
        }
    }

    // MARK: mutations

    /// Bytes that tend to break YAML or the decoder.
    static let interestingBytes: [UInt8] = [
        0x00, 0x09, 0xFF, 0x0A, 0x0D, 0x20, 0x7F, 0xC3, 0xE2, 0x80, 0xFE, 0x01, 0x1B,
    ] + Array(":-[]{},&*!|>'\"#%@`?~\\".utf8)

    static let snippets: [String] = [
        "- ", "  - x", "&a", "*a", "<<: *a", "a: &a [1, 2]", "b: *a", "[", "]", "{", "}", "---", "...",
        "key: value", "    extra: 1", "  workers: 0", "  workers: auto", "listen: [0]", "listen: [70000]",
        "    root: /nonexistent", "      - path: /\n        type: static", "? complex", ": value", "%YAML 1.1",
        "!!binary aGk=", "\t\tindented: 1", "max_size: 1.5M", "timeouts: {header: -1s}", "\"unterminated",
        "'it''s'", "|", ">-", "#comment", "vhosts:", "vhosts: []", "server: ~", "  default: true",
        "    names: [\"*.example.com\", \"*\"]", "      - path: /cgi-bin/\n        type: upload\n        dir: ../www/default/cgi-bin",
    ]

    static func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
    }

    static func joined(_ lines: [[UInt8]]) -> [UInt8] {
        Array(lines.joined(separator: [UInt8(ascii: "\n")]))
    }

    static func mutate(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        let count = Int.random(in: 1...3, using: &rng)
        for _ in 0..<count {
            var lines = lines(bytes)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0:  // delete a line
                if lines.count > 1 { lines.remove(at: Int.random(in: 0..<lines.count, using: &rng)) }
                bytes = joined(lines)
            case 1:  // duplicate a line
                let i = Int.random(in: 0..<lines.count, using: &rng)
                lines.insert(lines[i], at: Int.random(in: 0...lines.count, using: &rng))
                bytes = joined(lines)
            case 2:  // swap two lines
                let i = Int.random(in: 0..<lines.count, using: &rng)
                let j = Int.random(in: 0..<lines.count, using: &rng)
                lines.swapAt(i, j)
                bytes = joined(lines)
            case 3:  // insert random bytes
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let byte = Bool.random(using: &rng)
                        ? interestingBytes.randomElement(using: &rng)!
                        : UInt8.random(in: 0...255, using: &rng)
                    bytes.insert(byte, at: Int.random(in: 0...bytes.count, using: &rng))
                }
            case 4:  // overwrite random bytes
                guard !bytes.isEmpty else { break }
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let byte = Bool.random(using: &rng)
                        ? interestingBytes.randomElement(using: &rng)!
                        : UInt8.random(in: 0...255, using: &rng)
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = byte
                }
            case 5:  // truncate
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
            case 6:  // change a line's indentation
                let i = Int.random(in: 0..<lines.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0:
                    lines[i] = Array(repeating: UInt8(ascii: " "), count: Int.random(in: 1...4, using: &rng)) + lines[i]
                case 1:
                    let stripped = Array(lines[i].drop(while: { $0 == UInt8(ascii: " ") }))
                    lines[i] = Array(repeating: UInt8(ascii: " "), count: Int.random(in: 0...3, using: &rng)) + stripped
                case 2:
                    lines[i] = [0x09] + Array(lines[i].drop(while: { $0 == UInt8(ascii: " ") }))
                default:
                    lines[i] = Array(lines[i].dropFirst(min(lines[i].count, Int.random(in: 1...2, using: &rng))))
                }
                bytes = joined(lines)
            case 7:  // insert a YAML-ish snippet as a line
                let snippet = Array(snippets.randomElement(using: &rng)!.utf8)
                lines.insert(snippet, at: Int.random(in: 0...lines.count, using: &rng))
                bytes = joined(lines)
            case 8:  // move a chunk of bytes elsewhere
                guard bytes.count > 2 else { break }
                let start = Int.random(in: 0..<bytes.count, using: &rng)
                let end = min(bytes.count, start + Int.random(in: 1...40, using: &rng))
                let chunk = Array(bytes[start..<end])
                bytes.removeSubrange(start..<end)
                bytes.insert(contentsOf: chunk, at: Int.random(in: 0...bytes.count, using: &rng))
            default:  // change the value after a colon
                let i = Int.random(in: 0..<lines.count, using: &rng)
                if let colon = lines[i].firstIndex(of: UInt8(ascii: ":")) {
                    let values = ["0", "-1", "", "~", "[]", "{}", "99999999999999999999", "auto", "é", "\"\"", "*x", "&y z"]
                    lines[i] = Array(lines[i][...colon]) + Array((" " + values.randomElement(using: &rng)!).utf8)
                }
                bytes = joined(lines)
            }
        }
        return bytes
    }

    // MARK: invariants

    /// Lines as libyaml counts them: LF, CR, CRLF, NEL, LS and PS all end one.
    static func lineCount(_ bytes: [UInt8]) -> Int {
        var lines = 1
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case 0x0A:
                lines += 1
            case 0x0D:
                lines += 1
                if i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
            case 0xC2 where i + 1 < bytes.count && bytes[i + 1] == 0x85:
                lines += 1
                i += 1
            case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                lines += 1
                i += 2
            default:
                break
            }
            i += 1
        }
        return lines
    }

    /// Problems with one outcome, empty when it is well-formed.
    static func violations(_ outcome: ConfigLoader.Outcome, for bytes: [UInt8], file: String) -> [String] {
        var problems: [String] = []
        let errors = outcome.diagnostics.errors
        if outcome.config != nil, !errors.isEmpty { problems.append("config despite \(errors.count) errors") }
        if outcome.config == nil, errors.isEmpty { problems.append("no config and no error") }
        let maxLine = lineCount(bytes)
        for diagnostic in outcome.diagnostics.items {
            let mark = diagnostic.mark
            if mark.line < 1 || mark.column < 1 { problems.append("position below 1: \(diagnostic)") }
            // libyaml reports an error at the end of a file without a final newline one
            // line further down; YAMLReaderTests checks that case on its own.
            if mark.line > maxLine + 1 { problems.append("line past the end (\(maxLine) lines): \(diagnostic)") }
            if mark.column > bytes.count + 1 { problems.append("column past the end: \(diagnostic)") }
            if diagnostic.message.isEmpty { problems.append("empty message at \(mark)") }
            if diagnostic.file != file { problems.append("wrong file: \(diagnostic)") }
            if !diagnostic.description.hasPrefix("\(file):\(mark.line):\(mark.column): \(diagnostic.severity.rawValue): ") {
                problems.append("badly printed: \(diagnostic)")
            }
        }
        return problems
    }

    static func show(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(2000), as: UTF8.self).debugDescription
    }

    // MARK: tests

    @Test func shippedConfigIsValid() throws {
        let outcome = ConfigLoader.load(bytes: try Self.shippedConfig(), file: "config.yaml", directory: Self.configFolder)
        #expect(outcome.diagnostics.errors.isEmpty, "\(outcome.printed)")
        let config = try #require(outcome.config)
        #expect(config.vhosts.count == 1)
        #expect(config.routeCount == 4)
    }

    @Test(.timeLimit(.minutes(2)))
    func mutatedConfigsLoadOrFailWithPositions() throws {
        let original = try Self.shippedConfig()
        var rng = SplitMix64(seed: 0x5EED_C0F1_6000_0001)
        let iterations = 2500
        var valid = 0
        var invalid = 0
        var failures: [String] = []
        for iteration in 0..<iterations {
            let bytes = Self.mutate(original, using: &rng)
            let outcome = ConfigLoader.load(bytes: bytes, file: "fuzz.yaml", directory: Self.configFolder)
            if outcome.config != nil { valid += 1 } else { invalid += 1 }
            let problems = Self.violations(outcome, for: bytes, file: "fuzz.yaml")
            if !problems.isEmpty, failures.count < 10 {
                failures.append("#\(iteration): \(problems.joined(separator: "; "))\n  input: \(Self.show(bytes))")
            }
            // The same bytes always give the same answer.
            if iteration % 50 == 0 {
                let again = ConfigLoader.load(bytes: bytes, file: "fuzz.yaml", directory: Self.configFolder)
                if again.printed != outcome.printed, failures.count < 10 {
                    failures.append("#\(iteration): not deterministic\n  input: \(Self.show(bytes))")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(valid + invalid == iterations)
        // Both outcomes occur, so the mutations reach past the YAML reader.
        #expect(valid > 0)
        #expect(invalid > iterations / 2)
    }

    @Test func splitMixIsDeterministic() {
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        var c = SplitMix64(seed: 43)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
        // Reference value of SplitMix64 for seed 0.
        var zero = SplitMix64(seed: 0)
        #expect(zero.next() == 0xE220_A839_7B1D_CDAF)
    }

    @Test(.timeLimit(.minutes(1)))
    func tenMegabyteDocument() throws {
        // The shipped config, 10 MB of comments, then one mistake: found at its exact line.
        var bytes = try Self.shippedConfig()
        if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        let comment = Array("# padding padding padding padding padding padding padding padding padding\n".utf8)
        let copies = (10 << 20) / comment.count + 1
        for _ in 0..<copies { bytes += comment }
        let line = Self.lineCount(bytes)
        bytes += Array("frobnicate: 1\n".utf8)
        #expect(bytes.count > 10 << 20)
        let outcome = ConfigLoader.load(bytes: bytes, file: "big.yaml", directory: Self.configFolder)
        #expect(outcome.config == nil)
        #expect(outcome.diagnostics.errors.map(\.description) == [
            "big.yaml:\(line):1: error: unknown key 'frobnicate' in the config (known keys: server, logging, acme, default_type, mime_types, vhosts)",
        ])
        #expect(Self.violations(outcome, for: bytes, file: "big.yaml") == [])

        // Through the file API the size limit refuses it before parsing.
        let dir = try TempDir()
        let path = try dir.write("big.yaml", bytes: bytes)
        let fromFile = ConfigLoader.load(path: path)
        #expect(fromFile.config == nil)
        #expect(fromFile.printed == ["\(path):1:1: error: the config file is larger than 4 MiB; refusing to parse it"])
        withExtendedLifetime(dir) {}
    }

    @Test(.timeLimit(.minutes(1)))
    func tenMegabytesOfNodes() {
        // Lines of short lists: the node limit ends it long before the end.
        var text = ""
        var n = 0
        let list = "[" + Array(repeating: "item", count: 60).joined(separator: ", ") + "]\n"
        while text.utf8.count < 10 << 20 {
            text += "key_\(n): " + list
            n += 1
        }
        let bytes = Array(text.utf8)
        let outcome = ConfigLoader.load(bytes: bytes, file: "big.yaml", directory: Self.configFolder)
        #expect(outcome.config == nil)
        #expect(outcome.diagnostics.errors.map(\.message) == [
            "document has more than \(YAMLReader.maxNodes) nodes once aliases are expanded; refusing it",
        ])
        #expect(Self.violations(outcome, for: bytes, file: "big.yaml") == [])
    }

    @Test(.timeLimit(.minutes(1)))
    func deeplyNestedFlowSequence() {
        let depth = 100_000
        let bytes = Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
        let outcome = ConfigLoader.load(bytes: bytes, file: "deep.yaml", directory: Self.configFolder)
        #expect(outcome.config == nil)
        #expect(outcome.printed == ["deep.yaml:1:\(YAMLReader.maxDepth + 1): error: nesting deeper than \(YAMLReader.maxDepth) levels"])
        #expect(Self.violations(outcome, for: bytes, file: "deep.yaml") == [])

        let unclosed = Array(repeating: UInt8(ascii: "{"), count: depth)
        let open = ConfigLoader.load(bytes: unclosed, file: "deep.yaml", directory: Self.configFolder)
        #expect(open.config == nil)
        #expect(open.diagnostics.errors.count == 1)
        #expect(Self.violations(open, for: unclosed, file: "deep.yaml") == [])
    }

    @Test(.timeLimit(.minutes(1)))
    func randomBinary() {
        var rng = SplitMix64(seed: 0xB1A5_0000_0000_0001)
        for size in [1, 2, 16, 1000, 65536, 1 << 20] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let outcome = ConfigLoader.load(bytes: bytes, file: "random.bin", directory: Self.configFolder)
            #expect(outcome.config == nil, "size \(size)")
            #expect(!outcome.diagnostics.errors.isEmpty, "size \(size)")
            #expect(Self.violations(outcome, for: bytes, file: "random.bin") == [], "size \(size)")
        }
    }

    @Test func lineCountMatchesLibyaml() {
        #expect(Self.lineCount(Array("a\nb\r\nc\rd".utf8)) == 4)
        #expect(Self.lineCount([]) == 1)
        #expect(Self.lineCount(Array("x\u{85}y\u{2028}z".utf8)) == 3)
    }
}
