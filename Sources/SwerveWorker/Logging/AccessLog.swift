import SwerveConfig

/// The facts of one served request, as the access log records them.
public struct AccessLogEntry {
    public var remoteAddress: String
    public var method: String
    public var uri: String
    public var version: String
    public var status: Int
    public var bodyBytes: Int
    public var referer: String?
    public var userAgent: String?
    public var vhost: String
    /// Wall time from the request head to the end of the response.
    public var milliseconds: Int
    /// The request line as the client sent it, when it could not be parsed
    /// (logged in place of method, URI and version, as nginx does).
    public var requestLine: String? = nil
    /// The connection's TLS (json's `tls_version` and `sni`); nil over plain HTTP.
    public var tls: TLSFacts? = nil

    public init(remoteAddress: String, method: String, uri: String, version: String, status: Int, bodyBytes: Int,
                referer: String?, userAgent: String?, vhost: String, milliseconds: Int, requestLine: String? = nil,
                tls: TLSFacts? = nil) {
        self.remoteAddress = remoteAddress
        self.method = method
        self.uri = uri
        self.version = version
        self.status = status
        self.bodyBytes = bodyBytes
        self.referer = referer
        self.userAgent = userAgent
        self.vhost = vhost
        self.milliseconds = milliseconds
        self.requestLine = requestLine
        self.tls = tls
    }
}

/// Per-worker access log: lines are formatted into a buffer and written when
/// it fills, at least once a second (the worker's timer) and on shutdown, as
/// nginx's `access_log … buffer=64k flush=1s`. Writes cut only at line ends,
/// so lines from several workers never interleave. Confined to the event loop.
public final class AccessLog: @unchecked Sendable {
    private let file: LogFile
    private let format: LoggingSettings.Format
    private var buffer: [UInt8] = []
    private let flushThreshold = 32 * 1024

    public init(file: LogFile, format: LoggingSettings.Format) {
        self.file = file
        self.format = format
        buffer.reserveCapacity(flushThreshold + 4096)
    }

    /// `time` is the log-format timestamp for combined, RFC 3339 for json.
    public func append(_ entry: AccessLogEntry, combinedTime: String, isoTime: String) {
        switch format {
        case .combined: appendCombined(entry, time: combinedTime)
        case .json: appendJSON(entry, time: isoTime)
        }
        if buffer.count >= flushThreshold { flush() }
    }

    public func flush() {
        guard !buffer.isEmpty else { return }
        let limit = file.atomicWriteLimit
        buffer.withUnsafeBytes { bytes in
            var start = 0
            while start < bytes.count {
                var end = min(start + limit, bytes.count)
                if end < bytes.count {
                    // Cut after the last newline that fits; a single longer line goes alone.
                    var cut = end
                    while cut > start && bytes[cut - 1] != UInt8(ascii: "\n") { cut -= 1 }
                    if cut > start {
                        end = cut
                    } else {
                        while end < bytes.count && bytes[end - 1] != UInt8(ascii: "\n") { end += 1 }
                    }
                }
                file.write(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                start = end
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes to the old file, then opens the path anew (USR1 after logrotate).
    public func reopen() throws(LogFileError) {
        flush()
        try file.reopen()
    }

    // MARK: formats

    private func appendCombined(_ e: AccessLogEntry, time: String) {
        append(e.remoteAddress)
        literal(" - - [")
        append(time)
        literal("] \"")
        if let line = e.requestLine {
            appendEscaped(line)
        } else {
            appendEscaped(e.method)
            literal(" ")
            appendEscaped(e.uri)
            literal(" ")
            append(e.version)
        }
        literal("\" ")
        appendDecimal(e.status)
        literal(" ")
        appendDecimal(e.bodyBytes)
        literal(" \"")
        appendEscaped(e.referer ?? "-")
        literal("\" \"")
        appendEscaped(e.userAgent ?? "-")
        literal("\" ")
        appendEscaped(e.vhost)
        literal(" ")
        Self.writeSeconds(e.milliseconds, into: &buffer)
        literal("\n")
    }

    private func appendJSON(_ e: AccessLogEntry, time: String) {
        append("{\"time\":\"\(time)\",\"remote_addr\":")
        appendJSONString(e.remoteAddress)
        // An unparsed request line: its words, as far as there are any.
        let words = e.requestLine.map { $0.split(separator: " ", maxSplits: 2).map(String.init) }
        append(",\"method\":")
        appendJSONString(words.map { $0.first ?? "" } ?? e.method)
        append(",\"uri\":")
        appendJSONString(words.map { $0.count > 1 ? $0[1] : "" } ?? e.uri)
        append(",\"protocol\":")
        appendJSONString(words.map { $0.count > 2 ? $0[2] : "" } ?? e.version)
        append(",\"status\":\(e.status),\"bytes\":\(e.bodyBytes),\"referer\":")
        appendJSONString(e.referer ?? "")
        append(",\"user_agent\":")
        appendJSONString(e.userAgent ?? "")
        append(",\"vhost\":")
        appendJSONString(e.vhost)
        // As nginx's $ssl_protocol and $ssl_server_name: empty over plain HTTP.
        append(",\"tls_version\":")
        appendJSONString(e.tls?.version ?? "")
        append(",\"sni\":")
        appendJSONString(e.tls?.serverName ?? "")
        literal(",\"request_time\":")
        Self.writeSeconds(e.milliseconds, into: &buffer)
        literal("}\n")
    }

    /// "0.003": seconds with millisecond resolution, as nginx's $request_time.
    package static func seconds(_ milliseconds: Int) -> String {
        var bytes: [UInt8] = []
        writeSeconds(milliseconds, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Strings are appended as one copy of their UTF-8 (a line is a dozen
    /// appends per request).
    private func append(_ text: String) {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
    }

    /// A literal: its bytes, without a String in between.
    private func literal(_ text: StaticString) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    private func appendDecimal(_ value: Int) {
        Self.writeDecimal(value, into: &buffer)
    }

    private static func writeDecimal(_ value: Int, into bytes: inout [UInt8]) {
        guard value >= 0 else { return bytes.append(contentsOf: String(value).utf8) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var rest = value, start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// "0.003": both formats' request time, and `seconds`.
    private static func writeSeconds(_ milliseconds: Int, into bytes: inout [UInt8]) {
        let milliseconds = max(0, milliseconds)
        writeDecimal(milliseconds / 1000, into: &bytes)
        let fraction = milliseconds % 1000
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    /// As nginx: `"`, `\`, control bytes and non-ASCII become `\xHH`, so a
    /// request can never forge a line or a field.
    private func appendEscaped(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            guard bytes.contains(where: Self.needsEscape) else {
                buffer.append(contentsOf: bytes)
                return
            }
            for byte in bytes {
                if Self.needsEscape(byte) {
                    buffer.append(UInt8(ascii: "\\"))
                    buffer.append(UInt8(ascii: "x"))
                    buffer.append(Self.hex[Int(byte >> 4)])
                    buffer.append(Self.hex[Int(byte & 0xF)])
                } else {
                    buffer.append(byte)
                }
            }
        }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    private func appendJSONString(_ text: String) {
        JSONString.append(text, to: &buffer)
    }

    private static let hex = Array("0123456789ABCDEF".utf8)
}
