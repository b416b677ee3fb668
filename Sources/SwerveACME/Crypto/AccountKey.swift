import CNIOBoringSSL
import SwerveConfig

/// A P-256 key that signs JWS with ES256 (RFC 7518 §3.4): the ACME account
/// key, kept in `accounts/DIRECTORY/key.pem`.
package final class AccountKey: @unchecked Sendable {
    /// Owned EVP_PKEY; immutable after init, so sharing it across threads is safe.
    private let key: OpaquePointer

    /// A new key.
    package init() throws {
        key = try CertificateBuilder.newKey()
    }

    /// A key read from PEM; nil when it holds no P-256 key.
    package init?(pem: [UInt8]) {
        let parsed: OpaquePointer? = pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, bytes.count) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let parsed else {
            ERR_clear_error()
            return nil
        }
        guard EVP_PKEY_id(parsed) == EVP_PKEY_EC, let ec = EVP_PKEY_get0_EC_KEY(parsed),
              EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) == NID_X9_62_prime256v1 else {
            EVP_PKEY_free(parsed)
            return nil
        }
        key = parsed
    }

    deinit { EVP_PKEY_free(key) }

    package var pem: [UInt8] {
        get throws { try CertificateBuilder.privateKeyPEM(key) }
    }

    /// The public key as a JWK, members in RFC 7638's order, so the same
    /// text serves the JWS header and the thumbprint.
    package var jwk: String {
        let point = publicPoint
        let x = Base64URL.encode(point[1...32])
        let y = Base64URL.encode(point[33...64])
        return #"{"crv":"P-256","kty":"EC","x":"\#(x)","y":"\#(y)"}"#
    }

    /// RFC 7638 thumbprint: what a key authorization ends with (RFC 8555 §8.1).
    package var thumbprint: String { Base64URL.encode(Digest.sha256(Array(jwk.utf8))) }

    /// 0x04 ‖ X ‖ Y.
    private var publicPoint: [UInt8] {
        let ec = EVP_PKEY_get0_EC_KEY(key)
        var point = [UInt8](repeating: 0, count: 65)
        _ = EC_POINT_point2oct(EC_KEY_get0_group(ec), EC_KEY_get0_public_key(ec), POINT_CONVERSION_UNCOMPRESSED,
                               &point, point.count, nil)
        return point
    }

    /// ES256: the ECDSA signature of SHA-256(`input`) as R ‖ S, 32 bytes each.
    package func sign(_ input: [UInt8]) throws -> [UInt8] {
        let digest = Digest.sha256(input)
        guard let signature = ECDSA_do_sign(digest, digest.count, EVP_PKEY_get0_EC_KEY(key)) else {
            throw ACMEError.local("signing failed: \(String(describing: ERR_get_error()))")
        }
        defer { ECDSA_SIG_free(signature) }
        var r: UnsafePointer<BIGNUM>?
        var s: UnsafePointer<BIGNUM>?
        ECDSA_SIG_get0(signature, &r, &s)
        var raw = [UInt8](repeating: 0, count: 64)
        guard BN_bn2bin_padded(&raw, 32, r) == 1,
              raw.withUnsafeMutableBufferPointer({ BN_bn2bin_padded($0.baseAddress! + 32, 32, s) }) == 1
        else { throw ACMEError.local("signature does not fit ES256") }
        return raw
    }
}
