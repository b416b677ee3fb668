import Foundation
import Testing
import SwerveWorker

// Pure upload logic (SPEC §4.2): safe stored names, Content-Disposition and
// Content-Type parsing, `accept` patterns, and the JSON written for uploads.

// MARK: - Helpers

/// Scalars a stored name must never contain: separators, C0/C1 controls,
/// zero-width characters, bidi embeddings/overrides/isolates, BOM.
private func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00..<0x20, 0x7F...0x9F: return true
    case 0x2F, 0x5C: return true
    case 0x200B...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: return true
    default: return false
    }
}

/// Every rule a stored name must satisfy, as a list of broken ones (empty = fine).
private func violations(of name: String) -> [String] {
    var broken: [String] = []
    if name.isEmpty { broken.append("empty") }
    if name.utf8.first == UInt8(ascii: ".") { broken.append("starts with a dot byte") }
    if name == "." || name == ".." { broken.append("is . or ..") }
    if name.utf8.count > SafeFileName.maxBytes { broken.append("\(name.utf8.count) bytes > \(SafeFileName.maxBytes)") }
    if name.utf8.contains(UInt8(ascii: "/")) { broken.append("contains /") }
    if name.utf8.contains(UInt8(ascii: "\\")) { broken.append("contains \\") }
    if name.utf8.contains(0) { broken.append("contains NUL") }
    if let bad = name.unicodeScalars.first(where: isForbidden) {
        broken.append("contains U+\(String(bad.value, radix: 16, uppercase: true))")
    }
    if let first = name.unicodeScalars.first, CharacterSet.whitespaces.contains(first) { broken.append("leading whitespace") }
    return broken
}

/// Parses encoder output back with Foundation (top-level fragments allowed).
private func parse(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}

/// Container so `--filter UploadLogicTests` selects every suite below.
@Suite struct UploadLogicTests {}

// MARK: - SafeFileName.make

extension UploadLogicTests {
    @Suite struct SafeFileNameMakeTests {
        @Test(arguments: [
            // path traversal and separators: only the last component survives
            ("../../etc/passwd", "passwd"),
            ("/etc/passwd", "passwd"),
            ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
            ("a/b\\c.txt", "c.txt"),
            ("C:\\Users\\me\\photo.JPG", "photo.jpg"),
            ("dir/sub/", "sub"),
            // dots
            ("..", "upload"),
            (".", "upload"),
            ("...", "upload"),
            ("../..", "upload"),
            (".htaccess", "htaccess"),
            ("...hidden.txt", "hidden.txt"),
            ("./.env", "env"),
            // "C:" drive letters: ':' is dropped
            ("C:photo.jpg", "Cphoto.jpg"),
            // plain names
            ("photo.jpg", "photo.jpg"),
            ("my photo (1).jpeg", "my photo (1).jpeg"),
        ])
        func hostileAndPlainNames(input: String, expected: String) {
            #expect(SafeFileName.make(from: input) == expected, "input: \(input.debugDescription)")
        }

        @Test(arguments: [nil, "", ".", "..", "....", " ", "     ", " . ", "\u{0}", "\u{202E}", "\u{200B}\u{FEFF}", "/", "\\", "///", "\t\n"] as [String?])
        func nothingLeftGivesUpload(input: String?) {
            #expect(SafeFileName.make(from: input) == "upload", "input: \(String(describing: input?.debugDescription))")
        }

        @Test func controlCharactersAndNULRemoved() {
            let name = SafeFileName.make(from: "a\u{0}b\u{1}c\u{1F}d\u{7F}e\u{85}f\u{9F}g\r\n\th.txt")
            #expect(name == "abcdefgh.txt")
            #expect(!name.utf8.contains(0))
            #expect(SafeFileName.make(from: "evil.php\u{0}.jpg") == "evil.php.jpg")
        }

        @Test func bidiOverrideAndZeroWidthRemoved() {
            let spoof = SafeFileName.make(from: "invoice\u{202E}gpj.exe")
            #expect(!spoof.unicodeScalars.contains("\u{202E}"))
            #expect(spoof == "invoicegpj.exe")
            #expect(spoof.hasSuffix(".exe"))

            #expect(SafeFileName.make(from: "a\u{200B}b\u{200C}c\u{200D}d\u{200E}e\u{200F}f.txt") == "abcdef.txt")
            #expect(SafeFileName.make(from: "\u{FEFF}bom.txt") == "bom.txt")
            #expect(SafeFileName.make(from: "x\u{202A}\u{202B}\u{202C}\u{202D}y.txt") == "xy.txt")
            #expect(SafeFileName.make(from: "iso\u{2066}\u{2067}\u{2068}\u{2069}late.txt") == "isolate.txt")
            // a zero-width character must not let a leading dot through
            #expect(SafeFileName.make(from: "\u{200B}.htaccess") == "htaccess")
        }

        @Test func colonRemoved() {
            #expect(SafeFileName.make(from: "a:b.txt") == "ab.txt")
            #expect(!SafeFileName.make(from: "file.txt:stream").contains(":"))
        }

        @Test func longASCIINameCappedWithExtensionKept() {
            let input = String(repeating: "a", count: 300) + ".txt"
            let name = SafeFileName.make(from: input)
            #expect(name.utf8.count <= SafeFileName.maxBytes)
            #expect(name.utf8.count == SafeFileName.maxBytes)  // shortened only as much as needed
            #expect(name.hasSuffix(".txt"))
            #expect(name == String(repeating: "a", count: SafeFileName.maxBytes - 4) + ".txt")
        }

        @Test func longNameWithoutExtensionCapped() {
            let name = SafeFileName.make(from: String(repeating: "b", count: 300))
            #expect(name == String(repeating: "b", count: SafeFileName.maxBytes))
        }

        @Test func nameOfExactlyMaxBytesKept() {
            let input = String(repeating: "c", count: SafeFileName.maxBytes - 4) + ".txt"
            #expect(SafeFileName.make(from: input) == input)
        }

        /// The extension alone may be longer than the budget; the result must still fit.
        @Test(arguments: [150, 196, 197, 199, 250, 300])
        func longExtensionStillWithinMaxBytes(extensionLength: Int) {
            let input = "a." + String(repeating: "x", count: extensionLength)
            let name = SafeFileName.make(from: input)
            #expect(name.utf8.count <= SafeFileName.maxBytes, "ext \(extensionLength): \(name.utf8.count) bytes")
            #expect(!name.isEmpty)
        }

        @Test func multibyteNamesKept() {
            #expect(SafeFileName.make(from: "café.png") == "café.png")
            #expect(SafeFileName.make(from: "日本語のファイル.txt") == "日本語のファイル.txt")
            #expect(SafeFileName.make(from: "😀 party 🎉.gif") == "😀 party 🎉.gif")
            #expect(SafeFileName.make(from: "👍🏽.png") == "👍🏽.png")
            #expect(SafeFileName.make(from: "🇫🇷.png") == "🇫🇷.png")
            #expect(SafeFileName.make(from: "Ωmega.TXT") == "Ωmega.txt")
        }

        @Test func multibyteCappedOnCharacterBoundary() {
            // 3-byte characters
            let cjk = SafeFileName.make(from: String(repeating: "日", count: 100) + ".txt")
            #expect(cjk.utf8.count <= SafeFileName.maxBytes)
            #expect(cjk.hasSuffix(".txt"))
            #expect(cjk == String(repeating: "日", count: (SafeFileName.maxBytes - 4) / 3) + ".txt")

            // 2-byte characters
            let accents = SafeFileName.make(from: String(repeating: "é", count: 150) + ".txt")
            #expect(accents == String(repeating: "é", count: (SafeFileName.maxBytes - 4) / 2) + ".txt")

            // 4-byte emoji: 196 bytes of stem is exactly 49 emoji
            let emoji = SafeFileName.make(from: String(repeating: "😀", count: 60) + ".png")
            #expect(emoji == String(repeating: "😀", count: 49) + ".png")

            // flags are two scalars (8 bytes) per character: never split a flag
            let flags = SafeFileName.make(from: String(repeating: "🇫🇷", count: 40) + ".txt")
            #expect(flags.utf8.count <= SafeFileName.maxBytes)
            #expect(flags == String(repeating: "🇫🇷", count: (SafeFileName.maxBytes - 4) / 8) + ".txt")

            // mixed widths: still valid, whole characters, within the limit
            let mixed = SafeFileName.make(from: String(repeating: "aé日😀", count: 30) + ".bin")
            #expect(mixed.utf8.count <= SafeFileName.maxBytes)
            #expect(mixed.hasSuffix(".bin"))
            #expect(String(repeating: "aé日😀", count: 30).hasPrefix(String(mixed.dropLast(4))))
        }

        @Test func normalisedToNFC() {
            let decomposed = "e\u{0301}.txt"
            let name = SafeFileName.make(from: decomposed)
            #expect(Array(name.unicodeScalars) == Array("\u{00E9}.txt".unicodeScalars))
            #expect(name.utf8.count == 6)
            #expect(Array(SafeFileName.make(from: "Cafe\u{0301}.PNG").unicodeScalars) == Array("Caf\u{00E9}.png".unicodeScalars))
            // Hangul jamo compose too
            #expect(Array(SafeFileName.make(from: "\u{1100}\u{1161}.txt").unicodeScalars) == Array("\u{AC00}.txt".unicodeScalars))
        }

        @Test func extensionLowercasedStemCaseKept() {
            #expect(SafeFileName.make(from: "MyPhoto.JPG") == "MyPhoto.jpg")
            #expect(SafeFileName.make(from: "Report.Final.PDF") == "Report.Final.pdf")
            #expect(SafeFileName.make(from: "archive.tar.GZ") == "archive.tar.gz")
            #expect(SafeFileName.make(from: "UPPER") == "UPPER")
        }

        @Test func namesWithoutExtension() {
            #expect(SafeFileName.make(from: "README") == "README")
            #expect(SafeFileName.make(from: "Makefile") == "Makefile")
            #expect(SafeFileName.make(from: "some/dir/LICENSE") == "LICENSE")
        }

        @Test func surroundingSpacesTrimmed() {
            #expect(SafeFileName.make(from: "   photo.jpg") == "photo.jpg")
            #expect(SafeFileName.make(from: "photo.jpg   ") == "photo.jpg")
            #expect(SafeFileName.make(from: " \u{00A0} spaced name.txt") == "spaced name.txt")
            #expect(SafeFileName.make(from: "  .bashrc") == "bashrc")
            #expect(SafeFileName.make(from: "dir/  x.txt") == "x.txt")
        }

        /// Dots and spaces interleaved at the start must not leave a dotfile, "." or "..".
        @Test(arguments: [
            (". .htaccess", "htaccess"),
            (" . .env", "env"),
            (". . .profile", "profile"),
        ])
        func dotsAndSpacesInterleavedStillNoDotfile(input: String, expected: String) {
            let name = SafeFileName.make(from: input)
            #expect(name == expected, "input: \(input.debugDescription)")
            #expect(name.utf8.first != UInt8(ascii: "."), "input: \(input.debugDescription) gave \(name.debugDescription)")
        }

        @Test(arguments: [". .", ". ..", " . . . ", ".. .."])
        func dotsAndSpacesOnlyGiveUpload(input: String) {
            #expect(SafeFileName.make(from: input) == "upload", "input: \(input.debugDescription)")
        }

        /// A combining mark after the leading dot forms one Character with it, but the
        /// stored name would still start with the byte "." (a hidden file).
        @Test func combiningMarkAfterLeadingDotStillNoDotfile() {
            for input in [".\u{0301}htaccess", ".\u{0308}env.txt", "..\u{0301}.txt"] {
                let name = SafeFileName.make(from: input)
                #expect(name.utf8.first != UInt8(ascii: "."), "input: \(input.debugDescription) gave \(name.debugDescription)")
            }
        }

        @Test func randomStringsNeverBreakTheRules() {
            let pieces: [String] = [
                "a", "B", "z", "0", "9", "-", "_", " ", "  ", ".", "..", "/", "\\", ":", "\u{0}", "\u{1}", "\t", "\n",
                "\r", "\u{7F}", "\u{85}", "\u{9F}", "\u{202E}", "\u{202D}", "\u{2066}", "\u{200B}", "\u{200D}",
                "\u{FEFF}", "é", "e\u{0301}", "\u{0301}", "日", "本", "😀", "🇫🇷", "\u{00A0}", "\u{3000}", "%2e",
                "JPG", ".txt", "../", "..\\", "C:\\",
            ]
            var rng = SeededRandom(seed: 0x5EED_CAFE_F00D_0001)
            var failures: [String] = []
            var inputs: [String] = []
            for round in 0..<600 {
                let length = round < 500 ? Int.random(in: 0...24, using: &rng) : Int.random(in: 60...160, using: &rng)
                var input = ""
                for _ in 0..<length { input += pieces.randomElement(using: &rng)! }
                inputs.append(input)
            }
            // plus raw random scalars across the BMP and beyond
            for _ in 0..<200 {
                var scalars = String.UnicodeScalarView()
                for _ in 0..<Int.random(in: 1...20, using: &rng) {
                    let value = UInt32.random(in: 0...0x1_FFFF, using: &rng)
                    if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }
                }
                inputs.append(String(scalars))
            }
            for input in inputs {
                let name = SafeFileName.make(from: input)
                let broken = violations(of: name)
                if !broken.isEmpty { failures.append("\(input.debugDescription) -> \(name.debugDescription): \(broken)") }
            }
            #expect(failures.isEmpty, "\(failures.count) of \(inputs.count) broke the rules, e.g. \(failures.prefix(5))")
        }

        @Test func resultIsStableWhenSanitisedAgain() {
            let inputs = ["../../etc/passwd", "C:\\Users\\me\\photo.JPG", "e\u{0301}.TXT", String(repeating: "日", count: 100) + ".txt",
                          "invoice\u{202E}gpj.exe", "  .htaccess", "README", "a.b.c.D"]
            for input in inputs {
                let once = SafeFileName.make(from: input)
                #expect(SafeFileName.make(from: once) == once, "input: \(input.debugDescription)")
            }
        }
    }
}

// MARK: - SafeFileName.numbered

extension UploadLogicTests {
    @Suite struct SafeFileNameNumberedTests {
        @Test(arguments: [
            ("photo.jpg", 1, "photo-1.jpg"),
            ("photo.jpg", 2, "photo-2.jpg"),
            ("photo.jpg", 42, "photo-42.jpg"),
            ("README", 1, "README-1"),
            ("README", 10, "README-10"),
            ("archive.tar.gz", 3, "archive.tar-3.gz"),
            ("photo.jpg", 0, "photo.jpg"),
            ("README", 0, "README"),
            ("photo.jpg", -1, "photo.jpg"),
            ("日本.txt", 1, "日本-1.txt"),
        ])
        func numbers(name: String, number: Int, expected: String) {
            #expect(SafeFileName.numbered(name, number) == expected)
        }

        @Test func longNamesStayWithinMaxBytes() {
            let long = SafeFileName.make(from: String(repeating: "a", count: 300) + ".jpg")
            #expect(long.utf8.count == SafeFileName.maxBytes)
            for number in [1, 9, 10, 99, 100, 9_999, 123_456_789] {
                let numbered = SafeFileName.numbered(long, number)
                #expect(numbered.utf8.count <= SafeFileName.maxBytes, "number \(number)")
                #expect(numbered.hasSuffix("-\(number).jpg"))
            }
            let noExtension = SafeFileName.make(from: String(repeating: "z", count: 300))
            #expect(SafeFileName.numbered(noExtension, 7).utf8.count <= SafeFileName.maxBytes)
            #expect(SafeFileName.numbered(noExtension, 7).hasSuffix("-7"))

            let multibyte = SafeFileName.make(from: String(repeating: "😀", count: 60) + ".png")
            let numbered = SafeFileName.numbered(multibyte, 12)
            #expect(numbered.utf8.count <= SafeFileName.maxBytes)
            #expect(numbered == String(repeating: "😀", count: 48) + "-12.png")
        }

        @Test func distinctNumbersGiveDistinctNames() {
            let long = SafeFileName.make(from: String(repeating: "q", count: 300) + ".txt")
            let names = Set((0...50).map { SafeFileName.numbered(long, $0) })
            #expect(names.count == 51)
        }
    }
}

// MARK: - PartDisposition

extension UploadLogicTests {
    @Suite struct PartDispositionTests {
        @Test func nameAndFilename() {
            let disposition = PartDisposition(header: #"form-data; name="photo"; filename="a.jpg""#)
            #expect(disposition == PartDisposition(name: "photo", filename: "a.jpg"))
        }

        @Test func onlyName() {
            let disposition = PartDisposition(header: #"form-data; name="title""#)
            #expect(disposition?.name == "title")
            #expect(disposition != nil)
            #expect(disposition?.filename == nil)
        }

        @Test func bareFormData() {
            #expect(PartDisposition(header: "form-data") == PartDisposition(name: nil, filename: nil))
        }

        @Test func escapedQuotesAndBackslashInsideQuotes() {
            let disposition = PartDisposition(header: #"form-data; name="f"; filename="say \"hi\".txt""#)
            #expect(disposition?.filename == #"say "hi".txt"#)
            #expect(disposition?.name == "f")
            // Browsers send backslashes raw (a Windows path stays one); only \" is an escape.
            let windows = PartDisposition(header: #"form-data; name="f"; filename="C:\Users\me\a.txt""#)
            #expect(windows?.filename == #"C:\Users\me\a.txt"#)
        }

        @Test func semicolonsAndEqualsInsideQuotes() {
            let disposition = PartDisposition(header: #"form-data; name="a;b=c"; filename="x; filename=evil.txt; y.jpg""#)
            #expect(disposition?.name == "a;b=c")
            #expect(disposition?.filename == "x; filename=evil.txt; y.jpg")
        }

        @Test func unquotedValues() {
            let disposition = PartDisposition(header: "form-data; name=photo; filename=a.jpg")
            #expect(disposition == PartDisposition(name: "photo", filename: "a.jpg"))
        }

        @Test func whitespaceAroundParameters() {
            let disposition = PartDisposition(header: #"  form-data ;  name = "photo" ;filename=  "b.png"  "#)
            #expect(disposition == PartDisposition(name: "photo", filename: "b.png"))
        }

        @Test func extendedFilenamePreferred() {
            let after = PartDisposition(header: #"form-data; name="f"; filename="naive.txt"; filename*=UTF-8''na%C3%AFve.txt"#)
            #expect(after?.filename == "naïve.txt")
            let before = PartDisposition(header: #"form-data; name="f"; filename*=UTF-8''na%C3%AFve.txt; filename="naive.txt""#)
            #expect(before?.filename == "naïve.txt")
            let alone = PartDisposition(header: "form-data; name=f; filename*=utf-8''%E6%97%A5%E6%9C%AC.txt")
            #expect(alone?.filename == "日本.txt")
            let withLanguage = PartDisposition(header: "form-data; name=f; filename*=UTF-8'en'na%C3%AFve.txt")
            #expect(withLanguage?.filename == "naïve.txt")
        }

        @Test func unusableExtendedFilenameFallsBack() {
            let latin1 = PartDisposition(header: #"form-data; name="f"; filename="plain.txt"; filename*=ISO-8859-1''caf%E9.txt"#)
            #expect(latin1?.filename == "plain.txt")
            let malformed = PartDisposition(header: #"form-data; name="f"; filename="plain.txt"; filename*=na%C3%AFve.txt"#)
            #expect(malformed?.filename == "plain.txt")
        }

        @Test func caseInsensitiveNamesAndType() {
            let disposition = PartDisposition(header: #"Form-Data; NAME="Photo"; FileName="A.JPG""#)
            #expect(disposition == PartDisposition(name: "Photo", filename: "A.JPG"))
            let upper = PartDisposition(header: "FORM-DATA; Name=x; FILENAME*=utf-8''%C3%A9.txt")
            #expect(upper?.filename == "é.txt")
            #expect(upper?.name == "x")
        }

        @Test(arguments: [
            #"attachment; filename="a.jpg""#,
            #"inline; name="x""#,
            #"form-data-x; name="x""#,
            #"formdata; name="x""#,
            "",
            #"name="x"; form-data"#,
        ])
        func notFormDataIsNil(header: String) {
            #expect(PartDisposition(header: header) == nil, "header: \(header)")
        }

        @Test func emptyFilename() {
            let disposition = PartDisposition(header: #"form-data; name="file"; filename="""#)
            #expect(disposition?.filename == "")
            #expect(disposition?.name == "file")
        }

        @Test func hostileFilenameIsPassedThroughForSanitising() {
            let disposition = PartDisposition(header: #"form-data; name="f"; filename="../../etc/passwd""#)
            #expect(disposition?.filename == "../../etc/passwd")
            #expect(SafeFileName.make(from: disposition?.filename) == "passwd")
        }
    }
}

// MARK: - UploadResponder.boundary

extension UploadLogicTests {
    @Suite struct UploadBoundaryTests {
        @Test(arguments: [
            ("multipart/form-data; boundary=abc", "abc"),
            (#"multipart/form-data; boundary="abc""#, "abc"),
            (#"multipart/form-data; boundary="----WebKitFormBoundary7MA4YWxkTrZu0gW""#, "----WebKitFormBoundary7MA4YWxkTrZu0gW"),
            (#"multipart/form-data; boundary="a b:c=d""#, "a b:c=d"),
            ("multipart/form-data; boundary=AbC", "AbC"),  // value keeps its case
            ("Multipart/Form-Data; Boundary=XyZ", "XyZ"),
            ("MULTIPART/FORM-DATA; BOUNDARY=q", "q"),
            ("multipart/form-data; charset=utf-8; boundary=xyz", "xyz"),
            ("multipart/form-data; boundary=xyz; charset=utf-8", "xyz"),
            ("multipart/form-data;boundary=tight", "tight"),
            ("  multipart/form-data  ;   boundary=spaced  ", "spaced"),
            ("multipart/form-data;\tboundary=tab", "tab"),
            ("multipart/form-data; boundary=a=b==", "a=b=="),
        ])
        func found(header: String, expected: String) {
            #expect(UploadResponder.boundary(header) == expected, "header: \(header)")
        }

        @Test(arguments: [
            "multipart/form-data",
            "multipart/form-data;",
            "multipart/form-data; charset=utf-8",
            "multipart/form-data; boundary=",
            #"multipart/form-data; boundary="""#,
            "multipart/mixed; boundary=abc",
            "application/x-www-form-urlencoded",
            "text/plain; boundary=abc",
            "multipart/form-datax; boundary=abc",
            "",
        ])
        func missing(header: String) {
            #expect(UploadResponder.boundary(header) == nil, "header: \(header)")
        }

        @Test func nilHeader() {
            #expect(UploadResponder.boundary(nil) == nil)
        }

        @Test func lengthLimitIs70() {
            let seventy = String(repeating: "b", count: 70)
            #expect(UploadResponder.boundary("multipart/form-data; boundary=\(seventy)") == seventy)
            #expect(UploadResponder.boundary("multipart/form-data; boundary=\"\(seventy)\"") == seventy)
            let seventyOne = String(repeating: "b", count: 71)
            #expect(UploadResponder.boundary("multipart/form-data; boundary=\(seventyOne)") == nil)
            #expect(UploadResponder.boundary("multipart/form-data; boundary=\"\(seventyOne)\"") == nil)
            #expect(UploadResponder.boundary("multipart/form-data; boundary=" + String(repeating: "x", count: 500)) == nil)
        }
    }
}

// MARK: - UploadResponder.accepts

extension UploadLogicTests {
    @Suite struct UploadAcceptTests {
        @Test func emptyPatternsAcceptEverything() {
            for type in ["image/png", "application/x-msdownload", "text/html; charset=utf-8", "", "garbage"] {
                #expect(UploadResponder.accepts(type, patterns: []), "type: \(type)")
            }
        }

        @Test(arguments: [
            ("image/png", true),
            ("image/jpeg", true),
            ("IMAGE/PNG", true),
            ("Image/Svg+Xml", true),
            ("image/png; charset=x", true),
            (" image/webp ", true),
            ("text/plain", false),
            ("application/pdf", false),
            ("image", false),
            ("imagex/png", false),
            ("images/png", false),
            ("text/image/png", false),
            ("", false),
        ])
        func imageWildcard(type: String, expected: Bool) {
            #expect(UploadResponder.accepts(type, patterns: ["image/*"]) == expected, "type: \(type)")
        }

        @Test(arguments: [
            ("application/pdf", true),
            ("Application/PDF", true),
            ("application/pdf; name=x.pdf", true),
            ("application/pdfx", false),
            ("application/x-pdf", false),
            ("application/pdf+zip", false),
            ("text/plain", false),
            ("application/*", false),
        ])
        func exactPattern(type: String, expected: Bool) {
            #expect(UploadResponder.accepts(type, patterns: ["application/pdf"]) == expected, "type: \(type)")
        }

        @Test func anyWildcard() {
            for type in ["image/png", "text/plain", "application/octet-stream", "x/y; a=b"] {
                #expect(UploadResponder.accepts(type, patterns: ["*/*"]), "type: \(type)")
            }
        }

        @Test func severalPatterns() {
            let patterns = ["image/*", "application/pdf"]
            #expect(UploadResponder.accepts("image/gif", patterns: patterns))
            #expect(UploadResponder.accepts("application/pdf", patterns: patterns))
            #expect(!UploadResponder.accepts("text/html", patterns: patterns))
            #expect(!UploadResponder.accepts("application/zip", patterns: patterns))
            #expect(UploadResponder.accepts("video/mp4", patterns: ["image/*", "video/*"]))
            #expect(!UploadResponder.accepts("audio/mpeg", patterns: ["image/*", "video/*"]))
        }
    }
}

// MARK: - JSON.encode

extension UploadLogicTests {
    @Suite struct UploadJSONTests {
        @Test func scalars() {
            #expect(JSON.encode(.null) == "null")
            #expect(JSON.encode(.int(0)) == "0")
            #expect(JSON.encode(.int(-42)) == "-42")
            #expect(JSON.encode(.int(1_234_567_890_123)) == "1234567890123")
            #expect(JSON.encode(.string("")) == #""""#)
            #expect(JSON.encode(.string("plain")) == #""plain""#)
        }

        @Test(arguments: [
            ("say \"hi\"", #""say \"hi\"""#),
            (#"C:\dir"#, #""C:\\dir""#),
            ("a\nb", #""a\nb""#),
            ("a\rb\tc", #""a\rb\tc""#),
            ("\u{1}", #""\u0001""#),
            ("\u{0}", #""\u0000""#),
            ("\u{1F}", #""\u001f""#),
            ("\u{8}\u{C}", #""\u0008\u000c""#),
            ("line\u{2028}sep\u{2029}", #""line\u2028sep\u2029""#),
            ("/", #""/""#),
            ("é日😀", "\"é日😀\""),
        ])
        func stringEscaping(input: String, expected: String) {
            #expect(JSON.encode(.string(input)) == expected, "input: \(input.debugDescription)")
        }

        @Test func noRawControlCharactersInOutput() {
            var text = ""
            for value in 0..<0x20 { text.unicodeScalars.append(Unicode.Scalar(UInt8(value))) }
            text += "\u{2028}\u{2029}\"\\"
            let encoded = JSON.encode(.string(text))
            #expect(!encoded.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x2028 || $0.value == 0x2029 })
            #expect((try? parse(encoded)) as? String == text)
        }

        @Test func nestedStructureExactText() {
            let value: JSON.Value = .object([
                ("files", .array([
                    .object([("name", .string("a.jpg")), ("url", .null), ("size", .int(3))]),
                    .object([]),
                ])),
                ("fields", .object([("title", .string("x\"y"))])),
                ("empty", .array([])),
            ])
            #expect(JSON.encode(value) == #"{"files":[{"name":"a.jpg","url":null,"size":3},{}],"fields":{"title":"x\"y"},"empty":[]}"#)
        }

        @Test func keysKeepTheirOrderAndAreEscaped() {
            let value: JSON.Value = .object([("z", .int(1)), ("a", .int(2)), ("k\"\n", .int(3))])
            #expect(JSON.encode(value) == #"{"z":1,"a":2,"k\"\n":3}"#)
        }

        @Test func roundTripsThroughJSONSerialization() throws {
            let awkward = "q\"b\\s/\n\r\t\u{1}\u{1F}\u{7F}\u{2028}\u{2029}é日😀\u{202E}"
            let value: JSON.Value = .object([
                ("original_name", .string(awkward)),
                ("stored_name", .string("photo-1.jpg")),
                ("size", .int(123_456)),
                ("negative", .int(-7)),
                ("missing", .null),
                ("list", .array([.string("a"), .int(1), .null, .array([.string(awkward)]), .object([("deep", .object([("deeper", .string("\\"))]))])])),
                (awkward, .string("key with everything")),
            ])
            let parsed = try #require(try parse(JSON.encode(value)) as? [String: Any])
            #expect(parsed.count == 7)
            #expect(parsed["original_name"] as? String == awkward)
            #expect(parsed["stored_name"] as? String == "photo-1.jpg")
            #expect((parsed["size"] as? NSNumber)?.intValue == 123_456)
            #expect((parsed["negative"] as? NSNumber)?.intValue == -7)
            #expect(parsed["missing"] is NSNull)
            #expect(parsed[awkward] as? String == "key with everything")
            let list = try #require(parsed["list"] as? [Any])
            #expect(list.count == 5)
            #expect(list[0] as? String == "a")
            #expect((list[1] as? NSNumber)?.intValue == 1)
            #expect(list[2] is NSNull)
            #expect((list[3] as? [Any])?.first as? String == awkward)
            let deep = (list[4] as? [String: Any])?["deep"] as? [String: Any]
            #expect(deep?["deeper"] as? String == "\\")
        }

        @Test func randomStringsRoundTrip() throws {
            var rng = SeededRandom(seed: 0x0715_0A7D_0000_2028)
            for _ in 0..<300 {
                var scalars = String.UnicodeScalarView()
                for _ in 0..<Int.random(in: 0...30, using: &rng) {
                    // bias towards the interesting low range and the line separators
                    let value: UInt32 = switch Int.random(in: 0..<4, using: &rng) {
                    case 0: UInt32.random(in: 0..<0x80, using: &rng)
                    case 1: UInt32.random(in: 0x2026...0x202A, using: &rng)
                    default: UInt32.random(in: 0...0x1_FFFF, using: &rng)
                    }
                    if let scalar = Unicode.Scalar(value) { scalars.append(scalar) }
                }
                let text = String(scalars)
                let encoded = JSON.encode(.array([.string(text)]))
                let parsed = try #require(try parse(encoded) as? [Any], "encoded: \(encoded.debugDescription)")
                let back = try #require(parsed.first as? String)
                #expect(Array(back.unicodeScalars) == Array(text.unicodeScalars), "input: \(text.debugDescription)")
            }
        }
    }
}
