// File extension → Content-Type for static responses (SPEC §2 `mime_types`,
// `default_type`; §4 "text types with charset=utf-8").

/// The extension table a static route consults for every response.
///
/// The built-in table covers every extension in nginx's stock `mime.types`
/// (same types, except JavaScript is `text/javascript` per RFC 9239) plus
/// current web formats. Config overrides win. The merged table is built once,
/// with charsets already applied, so each lookup is a single hash probe.
public struct MIMETypes: Sendable, Equatable {
    /// Lowercase extension without dot → bare type (no parameters).
    public static let builtIn: [String: String] = [
        // nginx mime.types
        "html": "text/html", "htm": "text/html", "shtml": "text/html",
        "css": "text/css",
        "xml": "text/xml",
        "gif": "image/gif",
        "jpeg": "image/jpeg", "jpg": "image/jpeg",
        "js": "text/javascript",
        "atom": "application/atom+xml",
        "rss": "application/rss+xml",
        "mml": "text/mathml",
        "txt": "text/plain",
        "jad": "text/vnd.sun.j2me.app-descriptor",
        "wml": "text/vnd.wap.wml",
        "htc": "text/x-component",
        "avif": "image/avif",
        "png": "image/png",
        "svg": "image/svg+xml", "svgz": "image/svg+xml",
        "tif": "image/tiff", "tiff": "image/tiff",
        "wbmp": "image/vnd.wap.wbmp",
        "webp": "image/webp",
        "ico": "image/x-icon",
        "jng": "image/x-jng",
        "bmp": "image/x-ms-bmp",
        "woff": "font/woff",
        "woff2": "font/woff2",
        "jar": "application/java-archive", "war": "application/java-archive",
        "ear": "application/java-archive",
        "json": "application/json",
        "hqx": "application/mac-binhex40",
        "doc": "application/msword",
        "pdf": "application/pdf",
        "ps": "application/postscript", "eps": "application/postscript",
        "ai": "application/postscript",
        "rtf": "application/rtf",
        "m3u8": "application/vnd.apple.mpegurl",
        "kml": "application/vnd.google-earth.kml+xml",
        "kmz": "application/vnd.google-earth.kmz",
        "xls": "application/vnd.ms-excel",
        "eot": "application/vnd.ms-fontobject",
        "ppt": "application/vnd.ms-powerpoint",
        "odg": "application/vnd.oasis.opendocument.graphics",
        "odp": "application/vnd.oasis.opendocument.presentation",
        "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "odt": "application/vnd.oasis.opendocument.text",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "wmlc": "application/vnd.wap.wmlc",
        "wasm": "application/wasm",
        "7z": "application/x-7z-compressed",
        "cco": "application/x-cocoa",
        "jardiff": "application/x-java-archive-diff",
        "jnlp": "application/x-java-jnlp-file",
        "run": "application/x-makeself",
        "pl": "application/x-perl", "pm": "application/x-perl",
        "prc": "application/x-pilot", "pdb": "application/x-pilot",
        "rar": "application/x-rar-compressed",
        "rpm": "application/x-redhat-package-manager",
        "sea": "application/x-sea",
        "swf": "application/x-shockwave-flash",
        "sit": "application/x-stuffit",
        "tcl": "application/x-tcl", "tk": "application/x-tcl",
        "der": "application/x-x509-ca-cert", "pem": "application/x-x509-ca-cert",
        "crt": "application/x-x509-ca-cert",
        "xpi": "application/x-xpinstall",
        "xhtml": "application/xhtml+xml",
        "xspf": "application/xspf+xml",
        "zip": "application/zip",
        "bin": "application/octet-stream", "exe": "application/octet-stream",
        "dll": "application/octet-stream", "deb": "application/octet-stream",
        "dmg": "application/octet-stream", "iso": "application/octet-stream",
        "img": "application/octet-stream", "msi": "application/octet-stream",
        "msp": "application/octet-stream", "msm": "application/octet-stream",
        "mid": "audio/midi", "midi": "audio/midi", "kar": "audio/midi",
        "mp3": "audio/mpeg",
        "ogg": "audio/ogg",
        "m4a": "audio/x-m4a",
        "ra": "audio/x-realaudio",
        "3gpp": "video/3gpp", "3gp": "video/3gpp",
        "ts": "video/mp2t",
        "mp4": "video/mp4",
        "mpeg": "video/mpeg", "mpg": "video/mpeg",
        "mov": "video/quicktime",
        "webm": "video/webm",
        "flv": "video/x-flv",
        "m4v": "video/x-m4v",
        "mng": "video/x-mng",
        "asx": "video/x-ms-asf", "asf": "video/x-ms-asf",
        "wmv": "video/x-ms-wmv",
        "avi": "video/x-msvideo",

        // Current web formats missing from nginx's table.
        "mjs": "text/javascript", "cjs": "text/javascript",
        "map": "application/json",
        "jsonld": "application/ld+json",
        "geojson": "application/geo+json",
        "webmanifest": "application/manifest+json",
        "md": "text/markdown", "markdown": "text/markdown",
        "csv": "text/csv",
        "tsv": "text/tab-separated-values",
        "ics": "text/calendar",
        "vtt": "text/vtt",
        "yaml": "application/yaml", "yml": "application/yaml",
        "toml": "application/toml",
        "xsl": "application/xml",
        "xslt": "application/xslt+xml",
        "dtd": "application/xml-dtd",
        "gpx": "application/gpx+xml",
        "mpd": "application/dash+xml",
        "epub": "application/epub+zip",
        "opus": "audio/ogg",
        "oga": "audio/ogg",
        "flac": "audio/flac",
        "wav": "audio/wav",
        "aac": "audio/aac",
        "weba": "audio/webm",
        "ogv": "video/ogg",
        "mkv": "video/x-matroska",
        "heic": "image/heic",
        "heif": "image/heif",
        "jxl": "image/jxl",
        "apng": "image/apng",
        "otf": "font/otf",
        "ttf": "font/ttf",
        "ttc": "font/collection",
        "gz": "application/gzip", "tgz": "application/gzip",
        "br": "application/x-brotli",
        "tar": "application/x-tar",
        "bz2": "application/x-bzip2",
        "xz": "application/x-xz",
        "zst": "application/zstd",
    ]

    /// Sent for unknown extensions, exactly as configured (no charset added:
    /// the operator chose it deliberately).
    public let defaultType: String

    /// Merged table: lowercase extension → final header value.
    let table: [String: String]

    /// `overrides` come from config `mime_types`; keys may be ".webp" or "webp"
    /// in any case. They replace built-ins, and get a charset like built-ins.
    public init(overrides: [String: String] = [:], defaultType: String = "application/octet-stream") {
        var merged = Self.builtIn
        for (key, value) in overrides {
            var ext = Substring(key)
            if ext.hasPrefix(".") { ext = ext.dropFirst() }
            merged[ext.lowercased()] = value
        }
        merged.removeValue(forKey: "")  // would never be looked up; keep Equatable honest
        self.table = merged.mapValues(Self.withCharset)
        self.defaultType = defaultType
    }

    /// Case-insensitive; a leading dot is tolerated. Unknown → `defaultType`.
    public func type(forExtension ext: String) -> String {
        // Fast path: extensions on disk are nearly always lowercase already.
        if let hit = table[ext] { return hit }
        var key = Substring(ext)
        if key.hasPrefix(".") { key = key.dropFirst() }
        guard !key.isEmpty else { return defaultType }
        return table[key.lowercased()] ?? defaultType
    }

    /// Type for a file path, by the extension of its last component: the text
    /// after the last dot ("a/b.tar.gz" → gz). A name that only starts with a
    /// dot (".bashrc") or ends with one ("notes.") has no extension.
    public func type(forPath path: String) -> String {
        let utf8 = path.utf8
        guard let dot = utf8.lastIndex(of: UInt8(ascii: ".")) else { return defaultType }
        let nameStart = utf8.lastIndex(of: UInt8(ascii: "/")).map { utf8.index(after: $0) } ?? utf8.startIndex
        guard dot > nameStart else { return defaultType }  // no dot in the name, or a leading one
        let extStart = utf8.index(after: dot)
        guard extStart < utf8.endIndex else { return defaultType }
        let ext = String(path[extStart...])
        if let hit = table[ext] { return hit }
        return table[ext.lowercased()] ?? defaultType
    }

    /// Appends "; charset=utf-8" to textual types that carry no parameters yet:
    /// text/*, JavaScript, JSON (incl. +json), XML (incl. +xml, except images
    /// such as SVG whose .svgz form is gzip bytes), YAML and TOML. Browsers
    /// otherwise guess a legacy charset and mangle non-ASCII text.
    public static func withCharset(_ type: String) -> String {
        guard !type.contains(";"), needsCharset(type.lowercased()) else { return type }
        return type + "; charset=utf-8"
    }

    private static func needsCharset(_ type: String) -> Bool {
        guard let slash = type.firstIndex(of: "/") else { return false }
        let top = type[..<slash]
        let sub = type[type.index(after: slash)...]
        if top == "text" { return !sub.isEmpty }
        guard top == "application" else { return false }
        switch sub {
        case "javascript", "ecmascript", "x-javascript", "json", "xml", "xml-dtd",
             "yaml", "x-yaml", "toml":
            return true
        default:
            return sub.hasSuffix("+json") || sub.hasSuffix("+xml")
        }
    }

    /// RFC 9110 `media-type` shape: token "/" token, then any
    /// `OWS ";" OWS [name "=" (token / quoted-string)]`. Control characters and
    /// non-ASCII are refused since the value goes straight into a header.
    public static func isValidMediaType(_ text: String) -> Bool {
        let b = Array(text.utf8)
        // Trailing blanks would be trimmed or mangled by header handling.
        guard let last = b.last, last != 0x20, last != 0x09 else { return false }
        var i = 0
        func token() -> Bool {
            let start = i
            while i < b.count, isTokenChar(b[i]) { i += 1 }
            return i > start
        }
        func ows() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
        }
        guard token(), i < b.count, b[i] == UInt8(ascii: "/") else { return false }
        i += 1
        guard token() else { return false }
        while true {
            ows()
            if i == b.count { return true }
            guard b[i] == UInt8(ascii: ";") else { return false }
            i += 1
            ows()
            if i == b.count || b[i] == UInt8(ascii: ";") { continue }
            guard token(), i < b.count, b[i] == UInt8(ascii: "=") else { return false }
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < b.count {
                    let c = b[i]
                    if c == UInt8(ascii: "\"") { closed = true; i += 1; break }
                    if c == UInt8(ascii: "\\") {
                        i += 1
                        guard i < b.count, b[i] == 0x09 || (b[i] >= 0x20 && b[i] < 0x7F) else { return false }
                        i += 1
                        continue
                    }
                    guard c == 0x09 || (c >= 0x20 && c < 0x7F) else { return false }
                    i += 1
                }
                guard closed else { return false }
            } else {
                guard token() else { return false }
            }
        }
    }

    /// RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~".
    private static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }
}
