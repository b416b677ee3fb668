import NIOHTTP1

/// The checks every request head passes before routing (SPEC §4): pure, so
/// each rule is unit-tested without a socket.
public enum RequestHeadCheck: Equatable {
    /// Acceptable. `declaredLength` is the Content-Length (nil when chunked or none).
    case accept(declaredLength: Int?, chunked: Bool, expectsContinue: Bool)
    /// Answer `status` without reading the body; `close` ends the connection after it.
    case reject(HTTPResponseStatus, close: Bool)

    public init(_ head: HTTPRequestHead) {
        guard head.version.major == 1, head.version.minor <= 1 else {
            self = .reject(.httpVersionNotSupported, close: true)
            return
        }
        let hosts = head.headers["host"]
        if hosts.count > 1 || (head.version.minor == 1 && hosts.isEmpty) {
            self = .reject(.badRequest, close: true)
            return
        }
        let lengths = head.headers["content-length"]
        let encodings = head.headers["transfer-encoding"]
        // Request smuggling: both framings at once is refused outright (RFC 9112 §6.3).
        if !lengths.isEmpty && !encodings.isEmpty {
            self = .reject(.badRequest, close: true)
            return
        }
        var declared: Int?
        if !lengths.isEmpty {
            let values = Set(lengths.flatMap { $0.split(separator: ",").map { String($0.trimmingSpaces) } })
            guard values.count == 1, let value = values.first, let length = Int(value), length >= 0,
                  value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else {
                self = .reject(.badRequest, close: true)
                return
            }
            declared = length
        }
        let chunked = !encodings.isEmpty
        var expectsContinue = false
        let expectations = head.headers["expect"]
        if !expectations.isEmpty {
            guard expectations.count == 1, expectations[0].trimmingSpaces.lowercased() == "100-continue" else {
                self = .reject(.expectationFailed, close: true)
                return
            }
            // HTTP/1.0 clients do not know 100 Continue (RFC 9110 §10.1.1).
            expectsContinue = head.version.minor == 1
        }
        self = .accept(declaredLength: declared, chunked: chunked, expectsContinue: expectsContinue)
    }

    /// Does the request carry a body at all?
    public static func hasBody(declaredLength: Int?, chunked: Bool) -> Bool {
        chunked || (declaredLength ?? 0) > 0
    }
}
