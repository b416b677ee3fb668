import Foundation

/// RFC 4648 §5 without padding: the encoding of every binary field in JOSE
/// and ACME (RFC 8555 §6.1).
package enum Base64URL {
    package static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    package static func encode(_ text: String) -> String { encode(Array(text.utf8)) }
}
