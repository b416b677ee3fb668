import CNIOBoringSSL
import Foundation
import SwerveACME
import SwerveConfig
import Testing

/// The helper's cryptography, checked by reading its output back with
/// BoringSSL: ES256 signatures that verify, RFC 7638 thumbprints, a CSR
/// that names what it should, and RFC 8737's challenge certificate.
@Suite struct ACMECryptoTests {
    @Test func es256SignaturesVerifyWithTheJWKsKey() throws {
        let key = try AccountKey()
        let message = Array("protected.payload".utf8)
        let signature = try key.sign(message)
        #expect(signature.count == 64)
        // Rebuild the public key from the JWK's x and y, as a CA would.
        let jwk = try JSONSerialization.jsonObject(with: Data(key.jwk.utf8)) as! [String: String]
        #expect(jwk["kty"] == "EC" && jwk["crv"] == "P-256")
        let x = try #require(Self.base64URLDecode(jwk["x"]!)), y = try #require(Self.base64URLDecode(jwk["y"]!))
        let point = [0x04] + x + y
        let ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1)
        defer { EC_KEY_free(ec) }
        let group = EC_KEY_get0_group(ec)
        let publicPoint = EC_POINT_new(group)
        defer { EC_POINT_free(publicPoint) }
        #expect(EC_POINT_oct2point(group, publicPoint, point, point.count, nil) == 1)
        #expect(EC_KEY_set_public_key(ec, publicPoint) == 1)
        let sig = ECDSA_SIG_new()
        defer { ECDSA_SIG_free(sig) }
        let r = BN_bin2bn(signature, 32, nil), s = signature.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + 32, 32, nil) }
        #expect(ECDSA_SIG_set0(sig, r, s) == 1)
        let digest = Digest.sha256(message)
        #expect(ECDSA_do_verify(digest, digest.count, sig, ec) == 1)
        var tampered = digest
        tampered[0] ^= 1
        #expect(ECDSA_do_verify(tampered, tampered.count, sig, ec) != 1)
    }

    @Test func aKeyReadBackIsTheSameKey() throws {
        let key = try AccountKey()
        let again = try #require(AccountKey(pem: try key.pem))
        #expect(again.jwk == key.jwk)
        #expect(again.thumbprint == key.thumbprint)
        #expect(key.thumbprint.count == 43)  // base64url of 32 bytes, unpadded
        #expect(AccountKey(pem: Array("not a key".utf8)) == nil)
    }

    /// RFC 7638 §3.1's example is RSA; this checks the EC member order and
    /// encoding instead: {"crv","kty","x","y"}, no blanks, SHA-256, base64url.
    @Test func thumbprintIsTheDigestOfTheCanonicalJWK() throws {
        let key = try AccountKey()
        #expect(key.jwk.hasPrefix(#"{"crv":"P-256","kty":"EC","x":""#) && !key.jwk.contains(" "))
        #expect(key.thumbprint == Base64URL.encode(Digest.sha256(Array(key.jwk.utf8))))
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
    }

    @Test func theCSRNamesEveryNameAndIsSignedByItsKey() throws {
        let key = try CertificateBuilder.newKey()
        defer { EVP_PKEY_free(key) }
        let der = try CertificateRequest.der(names: ["a.test", "www.a.test"], key: key)
        var pointer: UnsafePointer<UInt8>? = der.withUnsafeBufferPointer { $0.baseAddress }
        let request = try #require(der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            pointer = buffer.baseAddress
            return d2i_X509_REQ(nil, &pointer, buffer.count)
        })
        defer { X509_REQ_free(request) }
        #expect(X509_REQ_verify(request, key) == 1)
        let text = Self.print { X509_REQ_print($0, request) }
        #expect(text.contains("DNS:a.test, DNS:www.a.test"), "\(text)")
        #expect(text.contains("CN=a.test") || text.contains("CN = a.test"), "\(text)")
    }

    @Test func theTLSALPNChallengeCertificateCarriesTheCriticalACMEIdentifier() throws {
        let digest = Digest.sha256(Array("token.thumbprint".utf8))
        let made = try CertificateBuilder.selfSigned(names: ["a.test"], lifetime: 3600, now: Int64(Date().timeIntervalSince1970),
                                                     acmeIdentifier: digest)
        let issued = try #require(IssuedCertificate(pem: made.certificatePEM))
        #expect(issued.names == ["a.test"])
        #expect(issued.notAfter - issued.notBefore == 3600 + 3600)
        let (critical, value) = made.certificatePEM.withUnsafeBytes { bytes -> (Int32, [UInt8]) in
            let bio = BIO_new_mem_buf(bytes.baseAddress, bytes.count)
            defer { BIO_free(bio) }
            let certificate = PEM_read_bio_X509(bio, nil, nil, nil)
            defer { X509_free(certificate) }
            let oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1)
            defer { ASN1_OBJECT_free(oid) }
            let index = X509_get_ext_by_OBJ(certificate, oid, -1)
            guard index >= 0, let ext = X509_get_ext(certificate, index), let data = X509_EXTENSION_get_data(ext) else { return (-1, []) }
            let bytes = Array(UnsafeBufferPointer(start: ASN1_STRING_get0_data(data), count: Int(ASN1_STRING_length(data))))
            return (X509_EXTENSION_get_critical(ext), bytes)
        }
        // id-pe-acmeIdentifier, critical, its value the DER OCTET STRING (04 20) of the digest.
        #expect(critical == 1)
        #expect(value == [0x04, 0x20] + digest)
    }

    static func print(_ body: (OpaquePointer) -> Int32) -> String {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        _ = body(bio)
        var contents: UnsafePointer<UInt8>?
        var length = 0
        BIO_mem_contents(bio, &contents, &length)
        return String(decoding: UnsafeBufferPointer(start: contents, count: length), as: UTF8.self)
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
