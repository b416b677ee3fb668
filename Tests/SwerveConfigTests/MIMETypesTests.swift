import Testing
import SwerveConfig

@Suite("MIMETypes")
struct MIMETypesTests {
    /// Every extension in nginx's stock conf/mime.types.
    static let nginxExtensions = """
        html htm shtml css xml gif jpeg jpg js atom rss mml txt jad wml htc avif png svg svgz tif tiff
        wbmp webp ico jng bmp woff woff2 jar war ear json hqx doc pdf ps eps ai rtf m3u8 kml kmz xls eot
        ppt odg odp ods odt pptx xlsx docx wmlc wasm 7z cco jardiff jnlp run pl pm prc pdb rar rpm sea swf
        sit tcl tk der pem crt xpi xhtml xspf zip bin exe dll deb dmg iso img msi msp msm mid midi kar mp3
        ogg m4a ra 3gpp 3gp ts mp4 mpeg mpg mov webm flv m4v mng asx asf wmv avi
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

    static let modernExtensions = [
        "wasm", "mjs", "map", "md", "csv", "ics", "opus", "flac", "wav", "oga", "ogv", "heic", "heif",
        "jxl", "apng", "otf", "ttf", "webmanifest", "gz", "br", "tar", "bz2", "xz", "zst", "yaml", "yml",
        "toml", "txt",
    ]

    @Test func coversNginxAndModernExtensions() {
        for ext in Self.nginxExtensions + Self.modernExtensions {
            #expect(MIMETypes.builtIn[ext] != nil, "missing .\(ext)")
        }
        #expect(Set(Self.nginxExtensions).count == Self.nginxExtensions.count)
        #expect(Self.nginxExtensions.count == 110)
    }

    @Test func builtInIsCanonical() {
        for (ext, type) in MIMETypes.builtIn {
            #expect(ext == ext.lowercased() && !ext.hasPrefix(".") && !ext.isEmpty, "key \(ext)")
            #expect(!type.contains(";"), "\(ext) has parameters")
            #expect(type == type.lowercased(), "\(ext) type not lowercase")
            #expect(MIMETypes.isValidMediaType(type), "\(ext): \(type)")
        }
    }

    @Test(arguments: [
        ("html", "text/html; charset=utf-8"),
        ("htm", "text/html; charset=utf-8"),
        ("css", "text/css; charset=utf-8"),
        ("txt", "text/plain; charset=utf-8"),
        ("xml", "text/xml; charset=utf-8"),
        ("js", "text/javascript; charset=utf-8"),
        ("mjs", "text/javascript; charset=utf-8"),
        ("json", "application/json; charset=utf-8"),
        ("map", "application/json; charset=utf-8"),
        ("webmanifest", "application/manifest+json; charset=utf-8"),
        ("md", "text/markdown; charset=utf-8"),
        ("csv", "text/csv; charset=utf-8"),
        ("ics", "text/calendar; charset=utf-8"),
        ("rss", "application/rss+xml; charset=utf-8"),
        ("atom", "application/atom+xml; charset=utf-8"),
        ("xhtml", "application/xhtml+xml; charset=utf-8"),
        ("yaml", "application/yaml; charset=utf-8"),
        ("yml", "application/yaml; charset=utf-8"),
        ("toml", "application/toml; charset=utf-8"),
        ("wasm", "application/wasm"),
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("svg", "image/svg+xml"),
        ("svgz", "image/svg+xml"),
        ("webp", "image/webp"),
        ("avif", "image/avif"),
        ("jxl", "image/jxl"),
        ("apng", "image/apng"),
        ("heic", "image/heic"),
        ("heif", "image/heif"),
        ("ico", "image/x-icon"),
        ("woff2", "font/woff2"),
        ("otf", "font/otf"),
        ("ttf", "font/ttf"),
        ("pdf", "application/pdf"),
        ("zip", "application/zip"),
        ("gz", "application/gzip"),
        ("br", "application/x-brotli"),
        ("tar", "application/x-tar"),
        ("bz2", "application/x-bzip2"),
        ("xz", "application/x-xz"),
        ("zst", "application/zstd"),
        ("mp4", "video/mp4"),
        ("webm", "video/webm"),
        ("ogv", "video/ogg"),
        ("mp3", "audio/mpeg"),
        ("ogg", "audio/ogg"),
        ("oga", "audio/ogg"),
        ("opus", "audio/ogg"),
        ("flac", "audio/flac"),
        ("wav", "audio/wav"),
        ("exe", "application/octet-stream"),
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("jad", "text/vnd.sun.j2me.app-descriptor; charset=utf-8"),
        ("kml", "application/vnd.google-earth.kml+xml; charset=utf-8"),
    ])
    func builtInLookups(ext: String, expected: String) {
        #expect(MIMETypes().type(forExtension: ext) == expected)
    }

    @Test func lookupIsCaseInsensitiveAndToleratesDot() {
        let m = MIMETypes()
        for ext in ["HTML", "Html", "hTmL", ".html", ".HTML"] {
            #expect(m.type(forExtension: ext) == "text/html; charset=utf-8", "\(ext)")
        }
        #expect(m.type(forExtension: "PNG") == "image/png")
    }

    @Test func unknownGivesDefaultUntouched() {
        #expect(MIMETypes().type(forExtension: "nope") == "application/octet-stream")
        #expect(MIMETypes().type(forExtension: "") == "application/octet-stream")
        #expect(MIMETypes().type(forExtension: ".") == "application/octet-stream")
        #expect(MIMETypes().defaultType == "application/octet-stream")
        let m = MIMETypes(defaultType: "text/plain")
        #expect(m.type(forExtension: "nope") == "text/plain")  // no charset added to the default
        #expect(m.type(forPath: "/README") == "text/plain")
        #expect(m.defaultType == "text/plain")
        #expect(m.type(forExtension: "html") == "text/html; charset=utf-8")
    }

    @Test func overridesWinAndNormaliseKeys() {
        let m = MIMETypes(overrides: [
            ".webp": "image/x-webp",
            "MD": "text/x-markdown",
            ".Foo": "application/x-foo",
            "bar": "application/vnd.bar+json",
            ".md2": "text/markdown; charset=utf-8",
            "latin": "text/plain; charset=iso-8859-1",
        ])
        #expect(m.type(forExtension: "webp") == "image/x-webp")
        #expect(m.type(forExtension: "md") == "text/x-markdown; charset=utf-8")
        #expect(m.type(forExtension: "foo") == "application/x-foo")
        #expect(m.type(forExtension: "FOO") == "application/x-foo")
        #expect(m.type(forExtension: "bar") == "application/vnd.bar+json; charset=utf-8")
        #expect(m.type(forExtension: "md2") == "text/markdown; charset=utf-8")
        #expect(m.type(forExtension: "latin") == "text/plain; charset=iso-8859-1")
        #expect(m.type(forExtension: "png") == "image/png")  // untouched built-ins survive
        #expect(m.type(forPath: "/img/cat.WEBP") == "image/x-webp")
    }

    @Test func spec_example() {
        let m = MIMETypes(overrides: [".webp": "image/webp", ".md": "text/markdown; charset=utf-8"])
        #expect(m.type(forPath: "/a.webp") == "image/webp")
        #expect(m.type(forPath: "/docs/README.md") == "text/markdown; charset=utf-8")
    }

    @Test func emptyOverrideKeyIsIgnored() {
        let m = MIMETypes(overrides: [".": "text/x-dot", "": "text/x-empty"])
        #expect(m == MIMETypes())
        #expect(m.type(forExtension: "") == "application/octet-stream")
    }

    @Test func equatable() {
        #expect(MIMETypes() == MIMETypes())
        #expect(MIMETypes() != MIMETypes(defaultType: "text/plain"))
        #expect(MIMETypes() != MIMETypes(overrides: ["png": "image/apng"]))
        #expect(MIMETypes(overrides: [".X": "a/b"]) == MIMETypes(overrides: ["x": "a/b"]))
        #expect(MIMETypes(overrides: ["png": "image/png"]) == MIMETypes())
    }

    @Test(arguments: [
        ("index.html", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/a/b/c/style.css", "text/css; charset=utf-8"),
        ("a/b.tar.gz", "application/gzip"),
        ("archive.tar", "application/x-tar"),
        ("/PHOTO.JPG", "image/jpeg"),
        ("/x/.bashrc", "application/octet-stream"),
        (".bashrc", "application/octet-stream"),
        (".htaccess", "application/octet-stream"),
        ("/x/.config.json", "application/json; charset=utf-8"),
        ("..json", "application/json; charset=utf-8"),
        ("/notes.", "application/octet-stream"),
        ("/README", "application/octet-stream"),
        ("/dir.d/README", "application/octet-stream"),
        ("/dir.html/", "application/octet-stream"),
        ("", "application/octet-stream"),
        ("/", "application/octet-stream"),
        ("/.", "application/octet-stream"),
        ("/..", "application/octet-stream"),
        ("/über/naïve.svg", "image/svg+xml"),
        ("/файл.TXT", "text/plain; charset=utf-8"),
        ("/weird.ÜNKNOWN", "application/octet-stream"),
        ("app.min.mjs", "text/javascript; charset=utf-8"),
        ("manifest.webmanifest", "application/manifest+json; charset=utf-8"),
        ("bundle.js.map", "application/json; charset=utf-8"),
    ])
    func pathLookups(path: String, expected: String) {
        #expect(MIMETypes().type(forPath: path) == expected)
    }

    @Test func nonASCIIOverrideKeys() {
        let m = MIMETypes(overrides: [".ÜNI": "text/x-uni"])
        #expect(m.type(forExtension: "üni") == "text/x-uni; charset=utf-8")
        #expect(m.type(forPath: "/a/b.Üni") == "text/x-uni; charset=utf-8")
    }

    @Test(arguments: [
        ("text/html", "text/html; charset=utf-8"),
        ("text/plain", "text/plain; charset=utf-8"),
        ("text/event-stream", "text/event-stream; charset=utf-8"),
        ("TEXT/HTML", "TEXT/HTML; charset=utf-8"),
        ("text/javascript", "text/javascript; charset=utf-8"),
        ("application/javascript", "application/javascript; charset=utf-8"),
        ("application/x-javascript", "application/x-javascript; charset=utf-8"),
        ("application/ecmascript", "application/ecmascript; charset=utf-8"),
        ("application/json", "application/json; charset=utf-8"),
        ("Application/JSON", "Application/JSON; charset=utf-8"),
        ("application/manifest+json", "application/manifest+json; charset=utf-8"),
        ("application/ld+json", "application/ld+json; charset=utf-8"),
        ("application/problem+json", "application/problem+json; charset=utf-8"),
        ("application/xml", "application/xml; charset=utf-8"),
        ("application/rss+xml", "application/rss+xml; charset=utf-8"),
        ("application/yaml", "application/yaml; charset=utf-8"),
        ("text/html; charset=iso-8859-1", "text/html; charset=iso-8859-1"),
        ("text/html;charset=utf-8", "text/html;charset=utf-8"),
        ("application/json; foo=bar", "application/json; foo=bar"),
        ("image/svg+xml", "image/svg+xml"),
        ("image/png", "image/png"),
        ("application/octet-stream", "application/octet-stream"),
        ("application/wasm", "application/wasm"),
        ("application/jsonx", "application/jsonx"),
        ("application/json-seq", "application/json-seq"),
        ("application/zip", "application/zip"),
        ("font/woff2", "font/woff2"),
        ("video/mp4", "video/mp4"),
        ("text", "text"),
        ("text/", "text/"),
        ("", ""),
    ])
    func withCharset(type: String, expected: String) {
        #expect(MIMETypes.withCharset(type) == expected)
    }

    @Test func withCharsetIsIdempotent() {
        for type in Set(MIMETypes.builtIn.values) {
            let once = MIMETypes.withCharset(type)
            #expect(MIMETypes.withCharset(once) == once)
            #expect(MIMETypes.isValidMediaType(once), "\(once)")
        }
    }

    @Test func lookupsMatchRule() {
        let m = MIMETypes()
        for (ext, type) in MIMETypes.builtIn {
            #expect(m.type(forExtension: ext) == MIMETypes.withCharset(type))
            #expect(m.type(forPath: "/dir/file.\(ext)") == MIMETypes.withCharset(type))
            #expect(m.type(forExtension: ext.uppercased()) == MIMETypes.withCharset(type))
        }
    }

    @Test(arguments: [
        "text/html",
        "text/html; charset=utf-8",
        "text/html;charset=utf-8",
        "text/html ; charset=utf-8",
        "text/html;\tcharset=utf-8",
        "text/html; charset=\"utf-8\"",
        "text/plain; format=flowed; delsp=yes",
        "multipart/form-data; boundary=\"a b;c\"",
        "text/plain; x=\"a \\\" quote\"",
        "text/plain; x=\"\"",
        "text/html;",
        "text/html;;charset=utf-8",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/manifest+json",
        "application/x-7z-compressed",
        "image/svg+xml",
        "a/b",
        "A/B",
        "x-custom!#$%&'*+-.^_`|~/sub",
    ])
    func validMediaTypes(text: String) {
        #expect(MIMETypes.isValidMediaType(text))
    }

    @Test(arguments: [
        "", "text", "text/", "/html", "text/html/", "text//html", "text /html", "text/ html",
        " text/html", "text/html ", "text/html; ", "text/html; charset", "text/html; charset=",
        "text/html; =utf-8", "text/html charset=utf-8", "text/html; charset=utf 8",
        "text/html; charset=\"utf-8", "text/html; x=\"a\\\"", "text/html; charset=\"a\"b",
        "text/html, text/plain", "text/htm(l)", "text/html\r\nX-Injected: yes", "text/html\n",
        "text/ht\u{0}ml", "texte/ĥtml", "text/html; x=\"é\"", "text/html; charset=utf-8;\u{7F}",
        "te@xt/html", "text/{html}", "text/html; x=\"\u{1}\"",
    ])
    func invalidMediaTypes(text: String) {
        #expect(!MIMETypes.isValidMediaType(text))
    }
}
