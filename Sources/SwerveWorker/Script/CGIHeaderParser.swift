import NIOCore

/// The header block a CGI script prints before its body (RFC 3875 §6),
/// checked and classified.
public struct CGIResponseHead: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// A document (or a client redirect): sent to the client with `status`.
        case document
        /// Only a local `Location` (a path): the server answers as if that
        /// path had been requested with GET (RFC 3875 §6.2.2).
        case localRedirect(String)
    }

    public var kind: Kind
    public var status: Int
    /// The reason phrase the script gave with `Status`, if any.
    public var reason: String?
    /// Headers for the client, in the script's order: without `Status`, hop-by-hop
    /// fields, and `Date`/`Server` (which the server sets).
    public var headers: [(name: String, value: String)]
    /// The script's `Content-Length`, when it gave one.
    public var contentLength: Int?

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.kind == rhs.kind && lhs.status == rhs.status && lhs.reason == rhs.reason
            && lhs.contentLength == rhs.contentLength
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

/// Reads a CGI header block from stdout as it arrives, in any split: lines
/// end in LF or CRLF, the block ends at an empty line. Anything that is not a
/// valid header field, a block larger than `limit`, a bad `Status` or
/// `Content-Length`, or a block without any of `Content-Type`, `Location`,
/// `Status` is malformed (the server answers 502).
public struct CGIHeaderParser {
    public enum Outcome: Equatable {
        /// The block is not complete yet: feed more.
        case needMore
        /// The block, and the body bytes that followed it in the same read.
        case head(CGIResponseHead, body: ByteBuffer)
        /// Why the block is unusable, for the error log.
        case malformed(String)
    }

    /// Header-block size limit, as a request's header limit.
    public var limit: Int
    private var pending: [UInt8] = []
    private var scanned = 0
    private var finished = false

    public init(limit: Int = 64 * 1024) {
        self.limit = limit
    }

    /// Hop-by-hop fields (RFC 9110 §7.6.1) and the ones this server writes itself.
    static let droppedFields: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "date", "server",
    ]

    public mutating func feed(_ buffer: ByteBuffer) -> Outcome {
        guard !finished else { return .malformed("fed after the header block") }
        pending.append(contentsOf: buffer.readableBytesView)
        // Find the empty line: "\n\n" or "\n\r\n" (or one at the very start).
        var index = scanned
        while index < pending.count {
            if pending[index] == UInt8(ascii: "\n") {
                let lineStart = lastLineStart(before: index)
                let line = pending[lineStart..<index]
                if line.isEmpty || line == [UInt8(ascii: "\r")] {
                    finished = true
                    let block = pending[0..<lineStart]
                    var body = ByteBuffer()
                    body.writeBytes(pending[(index + 1)...])
                    switch Self.parseBlock(block) {
                    case .success(let head): return .head(head, body: body)
                    case .failure(let error): return .malformed(error.message)
                    }
                }
            }
            index += 1
        }
        scanned = index
        if pending.count > limit {
            finished = true
            return .malformed("header block longer than \(limit) bytes")
        }
        return .needMore
    }

    /// stdout ended: a block that never finished is malformed.
    public mutating func end() -> Outcome {
        guard !finished else { return .malformed("ended twice") }
        finished = true
        return .malformed(pending.isEmpty ? "no output" : "output ended inside the header block")
    }

    private func lastLineStart(before index: Int) -> Int {
        var start = index
        while start > 0 && pending[start - 1] != UInt8(ascii: "\n") { start -= 1 }
        return start
    }

    struct Malformed: Error {
        var message: String
    }

    /// Parses a complete block (lines, each ending in LF, without the empty line).
    static func parseBlock(_ block: ArraySlice<UInt8>) -> Result<CGIResponseHead, Malformed> {
        var status: (code: Int, reason: String?)?
        var location: String?
        var contentType = false
        var contentLength: Int?
        var others = 0
        var headers: [(name: String, value: String)] = []
        for rawLine in block.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            var line = rawLine
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty { continue }  // the trailing LF of the last line
            guard let first = line.first, first != UInt8(ascii: " "), first != UInt8(ascii: "\t") else {
                return .failure(Malformed(message: "folded header line (obsolete line folding)"))
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                return .failure(Malformed(message: "header line without ':': \(printable(line))"))
            }
            let nameBytes = line[..<colon]
            guard !nameBytes.isEmpty, nameBytes.allSatisfy(isTokenByte) else {
                return .failure(Malformed(message: "invalid header name: \(printable(nameBytes))"))
            }
            let valueBytes = trimmed(line[(colon + 1)...])
            guard valueBytes.allSatisfy(isFieldValueByte) else {
                return .failure(Malformed(message: "control character in the value of \(printable(nameBytes))"))
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let value = String(decoding: valueBytes, as: UTF8.self)
            switch name.lowercased() {
            case "status":
                guard status == nil else { return .failure(Malformed(message: "more than one Status")) }
                guard let parsed = parseStatus(valueBytes) else {
                    return .failure(Malformed(message: "invalid Status: \(printable(valueBytes))"))
                }
                status = parsed
            case "location":
                guard location == nil else { return .failure(Malformed(message: "more than one Location")) }
                guard !value.isEmpty else { return .failure(Malformed(message: "empty Location")) }
                location = value
                headers.append((name, value))
            case "content-length":
                guard let length = parseLength(valueBytes), contentLength == nil || contentLength == length else {
                    return .failure(Malformed(message: "invalid Content-Length: \(printable(valueBytes))"))
                }
                if contentLength == nil { headers.append((name, value)) }
                contentLength = length
                others += 1
            case let lowered where droppedFields.contains(lowered):
                continue
            default:
                if name.lowercased() == "content-type" { contentType = true }
                headers.append((name, value))
                others += 1
            }
        }
        guard status != nil || location != nil || contentType else {
            return .failure(Malformed(message: "no Content-Type, Location or Status"))
        }
        if let location, status == nil, others == 0, isLocalPath(location) {
            return .success(CGIResponseHead(kind: .localRedirect(location), status: 200, reason: nil, headers: [], contentLength: nil))
        }
        let code = status?.code ?? (location != nil ? 302 : 200)
        return .success(CGIResponseHead(kind: .document, status: code, reason: status?.reason, headers: headers,
                                        contentLength: contentLength))
    }

    /// "/path?query" is local; "//host/path" (network-path) and "scheme:..." are not.
    static func isLocalPath(_ location: String) -> Bool {
        location.hasPrefix("/") && !location.hasPrefix("//")
    }

    /// "NNN" or "NNN reason": 200 to 599 (a script cannot send 1xx).
    private static func parseStatus(_ bytes: ArraySlice<UInt8>) -> (code: Int, reason: String?)? {
        let digits = bytes.prefix(3)
        guard digits.count == 3, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        let code = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard (200...599).contains(code) else { return nil }
        let rest = bytes.dropFirst(3)
        guard rest.isEmpty || rest.first == UInt8(ascii: " ") else { return nil }
        let reason = trimmed(rest)
        return (code, reason.isEmpty ? nil : String(decoding: reason, as: UTF8.self))
    }

    private static func parseLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18,
              bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { slice = slice.dropFirst() }
        while let last = slice.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { slice = slice.dropLast() }
        return slice
    }

    /// RFC 9110 token characters.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Visible characters, space, tab and obs-text; never CR, LF, NUL or other controls.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7f)
    }

    private static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix(80), as: UTF8.self).debugDescription
    }
}
