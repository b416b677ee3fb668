import Foundation

/// A stored file's name, derived from what the client sent but never trusted:
/// only the last path component, no leading dots, no control, separator or
/// bidi-override characters, Unicode kept (NFC), length capped, extension
/// lowercased, `upload` when nothing is left. Pure, for unit tests.
public enum SafeFileName {
    /// Bytes of UTF-8 a stored name may take (ext4 allows 255; room is left for "-NNN" and ".json").
    public static let maxBytes = 200

    public static func make(from clientName: String?) -> String {
        guard let clientName else { return "upload" }
        // The last component, whichever separator the client's OS uses.
        let last = clientName.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var scalars = Array(last.precomposedStringWithCanonicalMapping.unicodeScalars.filter(isAllowed))
        // Per scalar, so that a dot hidden under a combining mark still counts,
        // and repeatedly, so that ". .htaccess" loses every leading dot.
        while let first = scalars.first, first == "." || first.properties.isWhitespace || isMark(first) {
            scalars.removeFirst()
        }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let name = String(view)
        guard !name.isEmpty else { return "upload" }
        var (stem, ext) = split(name)
        if ext.utf8.count > maxExtensionBytes {
            // Not an extension anyone relies on: part of the name, shortened like the rest.
            (stem, ext) = (name, "")
        }
        ext = ext.lowercased()
        if stem.isEmpty { stem = "upload" }
        return capped(stem, ext: ext)
    }

    /// Longer "extensions" are treated as part of the name.
    static let maxExtensionBytes = 16

    private static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// "photo.JPG" → ("photo", "JPG"); "archive" → ("archive", "").
    static func split(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]))
    }

    /// Joins stem and extension, shortening the stem (whole characters) to fit `maxBytes`.
    static func capped(_ stem: String, ext: String, suffix: String = "") -> String {
        let tail = suffix + (ext.isEmpty ? "" : "." + ext)
        var stem = stem
        while stem.utf8.count + tail.utf8.count > maxBytes && !stem.isEmpty { stem.removeLast() }
        if stem.isEmpty { stem = "upload" }
        return stem + tail
    }

    /// "photo.jpg", 2 → "photo-2.jpg": the name tried after a collision.
    public static func numbered(_ name: String, _ number: Int) -> String {
        guard number > 0 else { return name }
        let (stem, ext) = split(name)
        return capped(stem, ext: ext, suffix: "-\(number)")
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F: return false  // C0 and C1 controls, NUL included
        case 0x2F, 0x5C, 0x3A: return false  // "/", "\", ":" (separators on some systems)
        case 0x200B...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: return false  // zero-width, bidi overrides
        default: break
        }
        return scalar.properties.generalCategory != .unassigned && scalar.properties.generalCategory != .surrogate
            && scalar.properties.generalCategory != .privateUse
    }
}

/// `Content-Disposition: form-data; name="photo"; filename="a.jpg"` of one part
/// (RFC 7578): parameters split outside quotes, quoted strings unescaped,
/// `filename*=UTF-8''…` (RFC 5987) preferred when present.
public struct PartDisposition: Equatable, Sendable {
    public var name: String?
    public var filename: String?

    public init(name: String? = nil, filename: String? = nil) {
        self.name = name
        self.filename = filename
    }

    /// Parsed by Unicode scalars, not characters: a quote followed by a
    /// combining mark (`"` + U+0307) is still a quote — as characters, the
    /// pair is one grapheme and the name kept its quotes.
    public init?(header: String) {
        var parameters: [String: String] = [:]
        var parts = Self.splitParameters(header)
        guard let type = parts.first?.trimmingCharacters(in: .whitespaces).lowercased(), type == "form-data" else { return nil }
        parts.removeFirst()
        for part in parts {
            guard let equals = part.unicodeScalars.firstIndex(of: "=") else { continue }
            let key = String(part.unicodeScalars[..<equals]).trimmingCharacters(in: .whitespaces).lowercased()
            let raw = String(part.unicodeScalars[part.unicodeScalars.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            parameters[key] = Self.unquote(raw)
        }
        name = parameters["name"]
        filename = parameters["filename*"].flatMap(Self.decodeExtended) ?? parameters["filename"]
    }

    /// Splits on ";" outside quotes. Inside quotes only `\"` is an escape:
    /// browsers send backslashes raw (a Windows path stays a Windows path).
    private static func splitParameters(_ header: String) -> [String] {
        var parts: [String] = []
        var current = String.UnicodeScalarView()
        var quoted = false
        var previous: Unicode.Scalar?
        for scalar in header.unicodeScalars {
            if scalar == "\"" && !(quoted && previous == "\\") { quoted.toggle() }
            if scalar == ";" && !quoted {
                parts.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
            previous = scalar
        }
        parts.append(String(current))
        return parts
    }

    private static func unquote(_ value: String) -> String {
        let scalars = value.unicodeScalars
        guard scalars.count >= 2, scalars.first == "\"", scalars.last == "\"" else { return value }
        var result = String.UnicodeScalarView()
        var pendingBackslash = false
        for scalar in scalars.dropFirst().dropLast() {
            if pendingBackslash {
                if scalar != "\"" { result.append("\\") }
                pendingBackslash = false
            }
            if scalar == "\\" { pendingBackslash = true } else { result.append(scalar) }
        }
        if pendingBackslash { result.append("\\") }
        return String(result)
    }

    /// `UTF-8''na%C3%AFve.txt` → "naïve.txt".
    private static func decodeExtended(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3, pieces[0].lowercased() == "utf-8" else { return nil }
        return pieces[2].removingPercentEncoding
    }
}
