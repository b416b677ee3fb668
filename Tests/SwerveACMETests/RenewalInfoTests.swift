import CNIOBoringSSL
import Foundation
import SwerveACME
import SwerveConfig
import Testing

/// ACME Renewal Information (RFC 9773): the certificate identifier the
/// helper asks about, and the window it reads back, on the RFC's examples.
/// (Debian's pebble 2.4 offers no renewalInfo, so these are the tests of it.)
@Suite struct RenewalInfoTests {
    /// RFC 9773 §4.1: AKI keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4
    /// and serial 00:87:65:43:21 make "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE".
    @Test func certificateIdentifierOfTheRFCsExample() throws {
        let keyID: [UInt8] = [0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0,
                              0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4]
        let pem = try Self.certificate(serial: [0x87, 0x65, 0x43, 0x21], authorityKeyID: keyID)
        let issued = try #require(IssuedCertificate(pem: pem))
        #expect(issued.renewalID == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")
        // Without an AKI there is nothing to ask about.
        let bare = try CertificateBuilder.selfSigned(names: ["a.test"], lifetime: 3600, now: Int64(Date().timeIntervalSince1970))
        #expect(IssuedCertificate(pem: bare.certificatePEM)?.renewalID == nil)
    }

    /// RFC 9773 §4.2's example answer.
    @Test func readsTheSuggestedWindow() throws {
        let json = """
            {"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00.5Z"},
             "explanationURL": "https://acme.example.com/docs/ari"}
            """
        let info = try JSONDecoder.acme.decode(ACMERenewalInfo.self, from: Data(json.utf8))
        #expect(info.suggestedWindow.start.timeIntervalSince1970 == 1_735_790_400)
        #expect(info.suggestedWindow.end.timeIntervalSince1970 == 1_735_876_800.5)
    }

    /// A certificate with `serial` and an authorityKeyIdentifier of `keyID`,
    /// built with BoringSSL (the AKI's DER by hand: SEQUENCE { [0] keyID }).
    static func certificate(serial: [UInt8], authorityKeyID keyID: [UInt8]) throws -> [UInt8] {
        let key = try CertificateBuilder.newKey()
        defer { EVP_PKEY_free(key) }
        let x509 = try #require(X509_new())
        defer { X509_free(x509) }
        let number = BN_bin2bn(serial, serial.count, nil)
        defer { BN_free(number) }
        BN_to_ASN1_INTEGER(number, X509_get_serialNumber(x509))
        X509_set_version(x509, Int(X509_VERSION_3))
        ASN1_TIME_set_posix(X509_getm_notBefore(x509), 0)
        ASN1_TIME_set_posix(X509_getm_notAfter(x509), 4_000_000_000)
        X509_set_pubkey(x509, key)
        let der: [UInt8] = [0x30, UInt8(keyID.count + 2), 0x80, UInt8(keyID.count)] + keyID
        let value = ASN1_OCTET_STRING_new()
        defer { ASN1_OCTET_STRING_free(value) }
        ASN1_OCTET_STRING_set(value, der, Int32(der.count))
        let ext = X509_EXTENSION_create_by_NID(nil, NID_authority_key_identifier, 0, value)
        defer { X509_EXTENSION_free(ext) }
        X509_add_ext(x509, ext, -1)
        X509_sign(x509, key, EVP_sha256())
        return try CertificateBuilder.pem { PEM_write_bio_X509($0, x509) }
    }
}
