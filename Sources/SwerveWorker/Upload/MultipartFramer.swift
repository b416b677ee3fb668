import CSwerveShims
import NIOCore

/// Splits a `multipart/form-data` body (RFC 2046 §5.1.1, RFC 7578) into
/// what multipart-kit parses — delimiters and each part's header block —
/// and part content, which goes straight to the upload as slices of the
/// bytes read, never through multipart-kit.
///
/// Why in front of multipart-kit (4.7.1, the version we can use):
/// - its header-name check indexes a 128-entry table with the byte, so a
///   part header name with a byte ≥ 0x80 traps and kills the worker. Header
///   blocks are checked here first (token names, no control characters in
///   values, at most `maxHeaderBlock` bytes) and only then handed on;
/// - its content scan stops at every CR and allocates for it: random data
///   (a JPEG) parsed at 255 MB/s, a body of CRs at 4 MB/s. Here content is
///   searched with memmem for the whole delimiter and passed on as slices.
///
/// The header grammar accepted here is a subset of multipart-kit's and ends
/// at the same byte, so the two always agree where content begins.
/// Pure and synchronous: unit-tested with every split point.
package struct MultipartFramer {
    package enum Event {
        /// Bytes for multipart-kit: a delimiter and the header block after it.
        case structure(ByteBuffer)
        /// A part's header block is complete; its content follows.
        case partBegins
        /// Part content, in order (slices of the input, not copies).
        case content(ByteBuffer)
        /// A delimiter ended the current part.
        case partEnds
        /// The close delimiter: the body is complete (an epilogue is ignored).
        case finished
    }

    package struct Malformed: Error, Equatable, CustomStringConvertible {
        package var description: String
    }

    /// A part's header block (RFC 7578 parts carry two or three short fields) beyond this is refused.
    package static let maxHeaderBlock = 16 * 1024

    private enum State {
        /// Before the first delimiter; what comes before it is discarded.
        case preamble
        /// Just after a delimiter: "\r\n" opens a header block, "--" ends the body.
        case afterDelimiter(first: UInt8?)
        /// In a part's header block, `size` bytes into it.
        case headers(HeaderLine, size: Int)
        case content
        case epilogue
        case failed
    }

    /// Where in a header line the next byte falls.
    private enum HeaderLine {
        case start, name, value, lineFeed, blockEnd
    }

    /// "\r\n--BOUNDARY": what separates parts (the first one may lack the CRLF).
    private let delimiter: [UInt8]
    /// Structure for multipart-kit's first delimiter, which it expects without the CRLF.
    private let firstDelimiter: ByteBuffer
    private let nextDelimiter: ByteBuffer
    private var state = State.preamble
    /// A tail of the last input that may begin a delimiter, decided with the next.
    /// It starts as a CRLF so that a body starting with "--BOUNDARY" needs no special case.
    private var carry = ByteBuffer(string: "\r\n")

    package init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        firstDelimiter = ByteBuffer(string: "--\(boundary)")
        nextDelimiter = ByteBuffer(bytes: delimiter)
    }

    var isFinished: Bool {
        if case .epilogue = state { return true }
        return false
    }

    /// Feeds the next bytes of the body; `handle` receives the events in order.
    /// Throws `Malformed` (and ignores all later input) on a body that is not multipart.
    package mutating func feed(_ buffer: ByteBuffer, _ handle: (Event) throws -> Void) throws {
        var input = buffer
        if carry.readableBytes > 0 {
            // Rare for real data (the input ended inside something that looked like a
            // delimiter): join the two rather than search across them.
            var joined = carry
            joined.writeImmutableBuffer(buffer)
            input = joined
            carry.clear()
        }
        do {
            try run(input, handle)
        } catch {
            state = .failed
            throw error
        }
    }

    private mutating func run(_ input: ByteBuffer, _ handle: (Event) throws -> Void) throws {
        let start = input.readerIndex
        let end = input.writerIndex
        var index = start
        // Structure bytes not yet handed on begin here (nil: none pending);
        // input that continues a header block is structure from its first byte.
        var structureStart: Int?
        switch state {
        case .afterDelimiter, .headers: structureStart = start
        default: break
        }
        func flushStructure(upTo position: Int) throws {
            if let from = structureStart, position > from {
                try handle(.structure(input.getSlice(at: from, length: position - from)!))
            }
            structureStart = nil
        }
        while index < end {
            switch state {
            case .preamble, .content:
                let inContent: Bool
                if case .content = state { inContent = true } else { inContent = false }
                guard let found = find(in: input, from: index, to: end) else {
                    // No delimiter: all content, except a tail that may start one.
                    let held = heldTail(of: input, from: index, to: end)
                    if inContent && end - held > index {
                        try handle(.content(input.getSlice(at: index, length: end - held - index)!))
                    }
                    if held > 0 { carry = input.getSlice(at: end - held, length: held)! }
                    return
                }
                if inContent {
                    if found > index { try handle(.content(input.getSlice(at: index, length: found - index)!)) }
                    try handle(.partEnds)
                }
                try handle(.structure(inContent ? nextDelimiter : firstDelimiter))
                index = found + delimiter.count
                state = .afterDelimiter(first: nil)
                structureStart = index
            case .afterDelimiter(let first):
                let byte = input.getInteger(at: index, as: UInt8.self)!
                index += 1
                switch (first, byte) {
                case (nil, UInt8(ascii: "\r")), (nil, UInt8(ascii: "-")):
                    state = .afterDelimiter(first: byte)
                case (.some(UInt8(ascii: "\r")), UInt8(ascii: "\n")):
                    state = .headers(.start, size: 0)
                case (.some(UInt8(ascii: "-")), UInt8(ascii: "-")):
                    try flushStructure(upTo: index)
                    try handle(.finished)
                    state = .epilogue
                    return
                default:
                    throw Malformed(description: "a delimiter is followed by neither CRLF nor \"--\"")
                }
            case .headers(let line, let size):
                guard size < Self.maxHeaderBlock else {
                    throw Malformed(description: "a part's header block is over \(Self.maxHeaderBlock) bytes")
                }
                let byte = input.getInteger(at: index, as: UInt8.self)!
                index += 1
                switch line {
                case .start where byte == UInt8(ascii: "\r"):
                    state = .headers(.blockEnd, size: size + 1)
                case .start, .name:
                    if byte == UInt8(ascii: ":"), line == .name {
                        state = .headers(.value, size: size + 1)
                    } else if Self.isTokenByte(byte) {
                        state = .headers(.name, size: size + 1)
                    } else {
                        throw Malformed(description: "a part header's name holds byte \(byte)")
                    }
                case .value:
                    if byte == UInt8(ascii: "\r") {
                        state = .headers(.lineFeed, size: size + 1)
                    } else if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F {
                        // A bare LF or an escape in a value would reach logs and sidecars.
                        throw Malformed(description: "a part header's value holds control byte \(byte)")
                    } else {
                        state = .headers(.value, size: size + 1)
                    }
                case .lineFeed:
                    guard byte == UInt8(ascii: "\n") else { throw Malformed(description: "a part header line ends without LF") }
                    state = .headers(.start, size: size + 1)
                case .blockEnd:
                    guard byte == UInt8(ascii: "\n") else { throw Malformed(description: "a part's header block ends without LF") }
                    try flushStructure(upTo: index)
                    try handle(.partBegins)
                    state = .content
                }
            case .epilogue, .failed:
                return
            }
        }
        try flushStructure(upTo: end)
    }

    /// The position of the next delimiter in `input[from..<to]`.
    private func find(in input: ByteBuffer, from: Int, to: Int) -> Int? {
        guard to - from >= delimiter.count else { return nil }
        return input.withUnsafeReadableBytes { raw -> Int? in
            let base = raw.baseAddress! + (from - input.readerIndex)
            let found = delimiter.withUnsafeBytes { needle in
                swerve_memmem(base, to - from, needle.baseAddress, needle.count)
            }
            return found.map { from + (UnsafeRawPointer($0) - UnsafeRawPointer(base)) }
        }
    }

    /// How many bytes at the end of `input[from..<to]` are a proper prefix of
    /// the delimiter (so may begin one that the next input completes).
    private func heldTail(of input: ByteBuffer, from: Int, to: Int) -> Int {
        let longest = min(delimiter.count - 1, to - from)
        guard longest > 0 else { return 0 }
        return input.withUnsafeReadableBytes { raw -> Int in
            let bytes = raw.dropFirst(to - longest - input.readerIndex).prefix(longest)
            // The earliest CR whose tail matches the delimiter's start is the longest such suffix.
            var position = bytes.startIndex
            while position < bytes.endIndex {
                if bytes[position] == UInt8(ascii: "\r"),
                   bytes[position...].elementsEqual(delimiter.prefix(bytes.endIndex - position)) {
                    return bytes.endIndex - position
                }
                position += 1
            }
            return 0
        }
    }

    /// RFC 7230 token characters (what multipart-kit accepts in a header name).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
