import Foundation
import Glibc

/// A plain TCP connection to 127.0.0.1 for tests that need exact bytes on the
/// wire: pipelining, malformed requests, slow clients. Reads time out (5 s by
/// default) so no test can hang.
final class RawConnection {
    private(set) var fd: Int32
    private var buffer: [UInt8] = []
    private(set) var sawEOF = false

    init(port: Int, readTimeout: TimeInterval = 15) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            // deinit runs for a failed init too: it must not close this number
            // again, by then perhaps another test's descriptor.
            let failure = errno
            closeNow()
            errno = failure
            throw TestFailure("connect failed: \(String(cString: strerror(errno)))")
        }
        setReadTimeout(readTimeout)
    }

    deinit { closeNow() }

    /// Closes our end now (once: a second close could hit a reused descriptor).
    func closeNow() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Aborts the connection with a reset (RST), as a browser that gives up does.
    func resetNow() {
        guard fd >= 0 else { return }
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        closeNow()
    }

    func setReadTimeout(_ seconds: TimeInterval) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw TestFailure("send failed: \(String(cString: strerror(errno)))") }
            offset += count
        }
    }

    /// Reads more bytes into the buffer; false on EOF, throws on timeout or reset.
    @discardableResult
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        if count == 0 {
            sawEOF = true
            return false
        }
        throw TestFailure(errno == EAGAIN ? "read timed out" : "read failed: \(String(cString: strerror(errno)))")
    }

    /// Whatever arrives next (at least one byte), as a count.
    func readSome() throws -> Int {
        if buffer.isEmpty, try !fill() { throw TestFailure("connection closed") }
        defer { buffer.removeAll() }
        return buffer.count
    }

    /// Everything until the server closes the connection.
    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        defer { buffer.removeAll() }
        return buffer
    }

    /// True when the server closed the connection (EOF or reset) within the read timeout.
    func isClosedByServer() -> Bool {
        do {
            while try fill() {}
            return true
        } catch let failure as TestFailure {
            return !failure.description.contains("timed out")
        } catch {
            return true
        }
    }

    /// Reads one response: status line, headers, then a body framed by
    /// Content-Length, chunked coding, or the end of the connection.
    func readResponse(method: String = "GET") throws -> HTTPTestResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            headEnd = buffer.firstRange(of: separator)?.lowerBound
            if headEnd == nil, try !fill() { throw TestFailure("connection closed before a response head") }
        }
        let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        buffer.removeFirst(headEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw TestFailure("bad status line '\(statusLine)'") }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]).lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = HTTPTestResponse(statusLine: statusLine, status: status, headers: headers, body: [])
        if status == 100 { return response }
        let noBody = method == "HEAD" || status == 204 || status == 304
        if noBody { return response }
        if let length = response.header("content-length").flatMap(Int.init) {
            while buffer.count < length { if try !fill() { throw TestFailure("EOF inside a body") } }
            response.body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else if response.header("transfer-encoding")?.lowercased() == "chunked" {
            response.body = try readChunked()
        } else {
            response.body = try readToEnd()
        }
        return response
    }

    private func readChunked() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            var lineEnd = buffer.firstRange(of: [13, 10])?.lowerBound
            while lineEnd == nil {
                if try !fill() { throw TestFailure("EOF inside chunked body") }
                lineEnd = buffer.firstRange(of: [13, 10])?.lowerBound
            }
            let sizeText = String(decoding: buffer[0..<lineEnd!], as: UTF8.self).split(separator: ";")[0]
            guard let size = Int(sizeText, radix: 16) else { throw TestFailure("bad chunk size") }
            buffer.removeFirst(lineEnd! + 2)
            while buffer.count < size + 2 { if try !fill() { throw TestFailure("EOF inside chunk") } }
            body.append(contentsOf: buffer[0..<size])
            buffer.removeFirst(size + 2)
            if size == 0 { return body }
        }
    }
}

struct HTTPTestResponse {
    var statusLine: String
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0 == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}
