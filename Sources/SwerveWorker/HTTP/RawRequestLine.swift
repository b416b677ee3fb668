import NIOCore

/// What a client sent as its request line, recovered from raw bytes when the
/// HTTP decoder refused the request (its error carries no position). The
/// access log then shows `"GARBAGE"` or `"GET / HTTP/1.1"`, as nginx's does,
/// not an invented `"GET -"`.
package enum RawRequestLine {
    /// At most this much is logged of a line.
    package static let maxLength = 1024

    /// The request line of the last request in `bytes`: the line that starts
    /// the read or follows its last blank line ("\r\n\r\n"), whichever comes
    /// last and is not empty — for pipelined requests, the one the decoder
    /// stopped at. Nil when there is none.
    package static func extract(from bytes: ByteBuffer?) -> String? {
        guard let bytes else { return nil }
        let view = bytes.readableBytesView.prefix(16 * 1024)
        var starts = [view.startIndex]
        var index = view.startIndex
        while index < view.endIndex {
            if view[index] == UInt8(ascii: "\n") {
                // A line ends here; the next one starts a head if this one was empty.
                let previous = index > view.startIndex ? view[view.index(before: index)] : 0
                let beforeThat = index > view.startIndex + 1 ? view[view.index(index, offsetBy: -2)] : 0
                let blank = previous == UInt8(ascii: "\n") || (previous == UInt8(ascii: "\r") && beforeThat == UInt8(ascii: "\n"))
                if blank { starts.append(view.index(after: index)) }
            }
            index = view.index(after: index)
        }
        for start in starts.reversed() {
            let line = view[start...].prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }.prefix(maxLength)
            if !line.isEmpty { return String(decoding: line, as: UTF8.self) }
        }
        return nil
    }
}
