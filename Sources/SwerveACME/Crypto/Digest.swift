import CNIOBoringSSL

/// SHA-256 by BoringSSL (the copy NIOSSL brings; docs/architecture.md,
/// "Why the ACME helper uses BoringSSL directly").
package enum Digest {
    package static func sha256<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let input = Array(bytes)
        input.withUnsafeBytes { _ = CNIOBoringSSL.SHA256($0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count, &digest) }
        return digest
    }
}
