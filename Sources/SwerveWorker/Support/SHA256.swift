// BoringSSL's module comes with NIOSSL (the TLS library the workers use);
// hashing uploads with it spares the build a second copy of BoringSSL
// (swift-crypto's), which cost about 2 of CI's 15 minutes.
import CNIOBoringSSL

/// SHA-256 of a stream of bytes, by BoringSSL. A value: copying it copies
/// the running state, as swift-crypto's `SHA256` does.
struct SHA256 {
    private var state = SHA256_CTX()

    init() {
        SHA256_Init(&state)
    }

    mutating func update(bufferPointer bytes: UnsafeRawBufferPointer) {
        SHA256_Update(&state, bytes.baseAddress, bytes.count)
    }

    /// The 32-byte digest; the hasher is spent afterwards.
    mutating func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        SHA256_Final(&digest, &state)
        return digest
    }
}
