import Testing
import SwerveConfig

@Suite("YAMLReader")
struct YAMLReaderTests {
    // MARK: scalars, sequences, mappings and their marks

    @Test func blockMappingWithExactMarks() throws {
        let text = """
            server:
              workers: 4
              name: 'quoted'
            list:
              - a
              - "b"
            flow: [x, y]
            map: {k: v}
            """
        let root = try #require(readYAML(text))
        #expect(root.mark == at(1, 1))
        let pairs = try #require(root.pairs)
        #expect(pairs.map { $0.key.scalar } == ["server", "list", "flow", "map"])
        #expect(pairs.map(\.key.mark) == [at(1, 1), at(4, 1), at(7, 1), at(8, 1)])

        let server = try #require(root["server"])
        #expect(server.mark == at(2, 3))
        #expect(server.pairs?.map(\.key.mark) == [at(2, 3), at(3, 3)])
        let workers = try #require(server["workers"])
        #expect(workers.scalar == "4")
        #expect(workers.mark == at(2, 12))
        #expect(workers.isPlain == true)
        let name = try #require(server["name"])
        #expect(name.scalar == "quoted")
        #expect(name.mark == at(3, 9))
        #expect(name.isPlain == false)

        let list = try #require(root["list"])
        #expect(list.mark == at(5, 3))
        #expect(list.items?.map { $0.scalar } == ["a", "b"])
        #expect(list.items?.map(\.mark) == [at(5, 5), at(6, 5)])
        #expect(list.items?.map { $0.isPlain } == [true, false])

        let flow = try #require(root["flow"])
        #expect(flow.mark == at(7, 7))
        #expect(flow.items?.map { $0.scalar } == ["x", "y"])
        #expect(flow.items?.map(\.mark) == [at(7, 8), at(7, 11)])

        let map = try #require(root["map"])
        #expect(map.mark == at(8, 6))
        #expect(map["k"]?.scalar == "v")
        #expect(map.pairs?.first?.key.mark == at(8, 7))
        #expect(map["k"]?.mark == at(8, 10))
        #expect(map.kindDescription == "a mapping")
        #expect(flow.kindDescription == "a list")
        #expect(workers.kindDescription == "a scalar")
    }

    @Test func marksCountCharactersNotBytes() throws {
        // "é" is two bytes, "—" three; libyaml's columns count characters.
        let root = try #require(readYAML("é: — x\nk: v\n"))
        #expect(root["é"]?.scalar == "— x")
        #expect(root["é"]?.mark == at(1, 4))
        #expect(root["k"]?.mark == at(2, 4))
    }

    @Test func plainVersusQuotedVersusTagged() throws {
        let root = try #require(readYAML("""
            a: 8080
            b: "8080"
            c: '8080'
            d: !!str 8080
            e: |
              block
            f: end
            """))
        #expect(root["a"]?.isPlain == true)
        #expect(root["b"]?.isPlain == false)
        #expect(root["c"]?.isPlain == false)
        #expect(root["d"]?.isPlain == false)
        #expect(root["e"]?.isPlain == false)
        #expect(["a", "b", "c", "d"].map { root[$0]?.scalar } == ["8080", "8080", "8080", "8080"])
        #expect(root["e"]?.scalar == "block\n")
    }

    @Test func nullsFollowTheCoreSchema() throws {
        let root = try #require(readYAML("""
            empty:
            tilde: ~
            lower: null
            title: Null
            upper: NULL
            quoted: "null"
            single: ''
            word: nil
            """))
        for key in ["empty", "tilde", "lower", "title", "upper"] {
            #expect(root[key]?.isNull == true, "\(key)")
            #expect(root[key]?.kindDescription == "null", "\(key)")
        }
        for key in ["quoted", "single", "word"] {
            #expect(root[key]?.isNull == false, "\(key)")
        }
        #expect(root["empty"]?.scalar == "")
        #expect(root["empty"]?.mark.line == 1)
    }

    @Test func documentMarkersAreAllowedOnce() throws {
        let root = try #require(readYAML("---\na: 1\n...\n"))
        #expect(root["a"]?.scalar == "1")
        #expect(root.mark == at(2, 1))
    }

    // MARK: anchors, aliases, merge keys

    @Test func aliasesCopyTheAnchoredNodeAtTheAliasMark() throws {
        let root = try #require(readYAML("""
            base: &b
              x: 1
            copy: *b
            name: &n hello
            again: *n
            """))
        let base = try #require(root["base"])
        let copy = try #require(root["copy"])
        #expect(base.mark == at(1, 7))  // libyaml starts an anchored node at its '&'
        #expect(copy.mark == at(3, 7))
        #expect(copy["x"]?.scalar == "1")
        #expect(copy["x"]?.mark == at(2, 6))  // inner nodes keep where they were written
        #expect(root["again"]?.scalar == "hello")
        #expect(root["again"]?.mark == at(5, 8))
    }

    @Test func unknownAliasIsAnError() throws {
        let error = try #require(yamlError("a: 1\nb: *nope\n"))
        #expect(error == YAMLError(message: "unknown alias '*nope'", mark: at(2, 4)))
    }

    @Test func selfReferenceIsAnUnknownAlias() throws {
        // The anchor is only defined once its collection ends: no cycles.
        let error = try #require(yamlError("a: &a [1, *a]\n"))
        #expect(error.message == "unknown alias '*a'")
        #expect(error.mark == at(1, 11))
    }

    @Test func mergeKeyAddsMissingEntriesOnly() throws {
        let root = try #require(readYAML("""
            defaults: &d
              a: 1
              b: 2
            item:
              <<: *d
              b: 3
              c: 4
            """))
        let item = try #require(root["item"])
        let pairs = try #require(item.pairs)
        let values = Dictionary(uniqueKeysWithValues: pairs.map { ($0.key.scalar ?? "?", $0.value.scalar ?? "?") })
        #expect(values == ["a": "1", "b": "3", "c": "4"])
        #expect(pairs.count == 3)
        #expect(!pairs.contains { $0.key.scalar == "<<" })
        #expect(item["a"]?.mark == at(2, 6))
    }

    @Test func mergeListFirstSourceWins() throws {
        let root = try #require(readYAML("""
            one: &one {a: 1, b: 1}
            two: &two {b: 2, c: 2}
            item:
              <<: [*one, *two]
              c: 3
            """))
        let item = try #require(root["item"])
        #expect(item["a"]?.scalar == "1")
        #expect(item["b"]?.scalar == "1")
        #expect(item["c"]?.scalar == "3")
        #expect(item.pairs?.count == 3)
    }

    @Test func quotedMergeKeyIsAnOrdinaryKey() throws {
        let root = try #require(readYAML("d: &d {a: 1}\nitem:\n  \"<<\": *d\n"))
        let item = try #require(root["item"])
        #expect(item.pairs?.map { $0.key.scalar } == ["<<"])
        #expect(item["a"] == nil)
    }

    // MARK: empty and multi-document streams

    @Test(arguments: ["", "\n\n", "# only a comment\n", "   # indented comment\n# another"])
    func emptyStreamIsNil(text: String) throws {
        #expect(try YAMLReader.read(Array(text.utf8)) == nil)
    }

    @Test func twoDocumentsAreAnError() throws {
        let error = try #require(yamlError("a: 1\n---\nb: 2\n"))
        #expect(error == YAMLError(message: "the config must hold one YAML document, this is a second one", mark: at(2, 1)))
        let explicit = try #require(yamlError("---\na: 1\n...\n---\nb: 2\n"))
        #expect(explicit.mark == at(4, 1))
        #expect(explicit.message == "the config must hold one YAML document, this is a second one")
    }

    // MARK: syntax errors

    @Test func syntaxErrorPosition() throws {
        let error = try #require(yamlError("server:\n  a: b: c\n"))
        #expect(error == YAMLError(message: "YAML syntax: mapping values are not allowed in this context", mark: at(2, 7)))
    }

    @Test func unclosedFlowSequenceNamesItsContext() throws {
        let error = try #require(yamlError("a: [1, 2\nb: 3\n"))
        #expect(error.message == "YAML syntax: did not find expected ',' or ']' (while parsing a flow sequence)")
        #expect(error.mark == at(2, 2))
    }

    @Test func unterminatedQuoteAtEndOfStream() throws {
        let error = try #require(yamlError("a: \"unterminated\n"))
        #expect(error.message == "YAML syntax: found unexpected end of stream (while scanning a quoted scalar)")
        #expect(error.mark == at(2, 1))
    }

    static let tabHint = "YAML syntax: found character that cannot start any token (while scanning for the next token); "
        + "tabs are not allowed for indentation in YAML, use spaces"

    @Test func tabIndentationGetsAHint() throws {
        let error = try #require(yamlError("server:\n\tworkers: 1\n"))
        #expect(error == YAMLError(message: Self.tabHint, mark: at(2, 1)))
        // A tab after a deeper line trips a different libyaml check; the hint is there too.
        let later = try #require(yamlError("server:\n  workers: 1\n\tbacklog: 5\n"))
        #expect(later == YAMLError(
            message: "YAML syntax: found a tab character that violates indentation (while scanning a plain scalar); "
                + "tabs are not allowed for indentation in YAML, use spaces",
            mark: at(3, 1)))
    }

    /// libyaml's mark index counts characters; the hint must still find the tab
    /// when multi-byte characters come before it (the shipped config has an em dash).
    @Test func tabHintAfterNonASCIIText() throws {
        let error = try #require(yamlError("# café — notes\nserver:\n\tworkers: 1\n"))
        #expect(error == YAMLError(message: Self.tabHint, mark: at(3, 1)))
    }

    @Test func noTabHintForOtherCharacters() throws {
        let error = try #require(yamlError("server:\n  workers: 1\n`x: 2\n"))
        #expect(!error.message.contains("tabs"))
        #expect(error.mark == at(3, 1))
    }

    /// libyaml moves its mark to a new line at the end of a stream that lacks a
    /// final newline; a diagnostic must still point at a line of the file.
    @Test func errorAtEndOfFileWithoutFinalNewlineStaysInTheFile() throws {
        let key = try #require(yamlError("a: 1\nb"))  // 2 lines; the key 'b' has no ':'
        #expect(key.message == "YAML syntax: could not find expected ':' (while scanning a simple key)")
        #expect(key.mark.line == 2, "at \(key.mark)")
        #expect((1...2).contains(key.mark.column), "at \(key.mark)")
        let quote = try #require(yamlError("a: \"open"))  // 1 line
        #expect(quote.message == "YAML syntax: found unexpected end of stream (while scanning a quoted scalar)")
        #expect(quote.mark.line == 1, "at \(quote.mark)")
        #expect((4...9).contains(quote.mark.column), "at \(quote.mark)")
    }

    @Test func invalidUTF8IsAnErrorWithItsPosition() throws {
        let error = try #require(yamlError(Array("a: 1\nb: ".utf8) + [0xFF] + Array("\n".utf8)))
        #expect(error == YAMLError(message: "YAML syntax: invalid leading UTF-8 octet", mark: at(2, 4)))
        let truncated = try #require(yamlError(Array("a: ".utf8) + [0xC3]))
        #expect(truncated.message == "YAML syntax: incomplete UTF-8 octet sequence")
        #expect(truncated.mark == at(1, 4))
    }

    @Test func controlCharactersAreRefused() throws {
        let error = try #require(yamlError(Array("a: 1\nb: x".utf8) + [0x00] + Array("y\n".utf8)))
        #expect(error == YAMLError(message: "YAML syntax: control characters are not allowed", mark: at(2, 5)))
    }

    // MARK: bounds

    @Test(.timeLimit(.minutes(1)))
    func billionLaughsIsRefusedQuickly() throws {
        let text = """
            a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
            b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
            c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
            d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
            e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
            f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
            g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
            h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
            i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
            """
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(yamlError(text))
        #expect(clock.now - start < .seconds(5))
        #expect(error.message == "document has more than \(YAMLReader.maxNodes) nodes once aliases are expanded; refusing it")
        // a..e expand to 74,738 nodes; the second *e on line 6 crosses 200,000.
        #expect(error.mark == at(6, 12))
    }

    @Test(.timeLimit(.minutes(1)))
    func wideAliasFanOutIsRefused() throws {
        let big = "[" + (0..<1000).map(String.init).joined(separator: ", ") + "]"
        let fan = "[" + Array(repeating: "*a", count: 1000).joined(separator: ", ") + "]"
        let error = try #require(yamlError("a: &a \(big)\nb: \(fan)\n"))
        #expect(error.message.contains("more than \(YAMLReader.maxNodes) nodes"))
        #expect(error.mark.line == 2)
    }

    /// A long list or mapping (well under maxNodes) must cost time in proportion to
    /// its length: 30,000 items are read in far less than 3 s even in a debug build.
    @Test(.timeLimit(.minutes(1)), arguments: ["sequence", "mapping"])
    func wideCollectionsAreReadInLinearTime(shape: String) throws {
        let n = 30_000
        let text: String
        switch shape {
        case "sequence": text = (0..<n).map { "- x\($0)\n" }.joined()
        default: text = (0..<n).map { "k\($0): v\n" }.joined()
        }
        let clock = ContinuousClock()
        let start = clock.now
        let root = try #require(readYAML(text))
        let elapsed = clock.now - start
        #expect(elapsed < .seconds(3), "reading \(n) items took \(elapsed)")
        #expect((root.items?.count ?? root.pairs?.count) == n)
    }

    @Test func nestingUpToMaxDepthIsAccepted() throws {
        let depth = YAMLReader.maxDepth
        var node = try #require(readYAML(String(repeating: "[", count: depth) + "x" + String(repeating: "]", count: depth)))
        for _ in 1..<depth {
            node = try #require(node[0])
        }
        #expect(node[0]?.scalar == "x")
    }

    @Test func nestingDeeperThanMaxDepthIsAnError() throws {
        let depth = YAMLReader.maxDepth + 1
        let error = try #require(yamlError(String(repeating: "[", count: depth) + "x" + String(repeating: "]", count: depth)))
        #expect(error == YAMLError(message: "nesting deeper than \(YAMLReader.maxDepth) levels", mark: at(1, depth)))
        #expect(YAMLReader.maxDepth == 64)
    }

    @Test func deepBlockNestingIsAnError() throws {
        var text = ""
        for level in 0...YAMLReader.maxDepth {
            text += String(repeating: "  ", count: level) + "k\(level):\n"
        }
        text += String(repeating: "  ", count: YAMLReader.maxDepth + 1) + "leaf: 1\n"
        let error = try #require(yamlError(text))
        #expect(error.message == "nesting deeper than \(YAMLReader.maxDepth) levels")
        // Mapping number 65 starts at key k64 (line 65, after 64 two-space indents).
        #expect(error.mark == at(65, 129))
    }
}
