import CNIOBoringSSL
import Glibc

/// Makes P-256 keys and certificates with BoringSSL (the library the TLS
/// stack already links; docs/architecture.md says why not swift-certificates):
/// the self-signed stand-in an ACME vhost serves until its first certificate,
/// and the tls-alpn-01 challenge certificate (RFC 8737 §3).
package enum CertificateBuilder {
    package struct Made: Sendable {
        package var certificatePEM: [UInt8]
        package var keyPEM: [UInt8]
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// A self-signed certificate for `names` (DNS names), valid from an hour
    /// ago for `lifetime` seconds. `acmeIdentifier`, the SHA-256 of a key
    /// authorization, adds RFC 8737's critical id-pe-acmeIdentifier extension.
    package static func selfSigned(names: [String], lifetime: Int64, now: Int64,
                                   acmeIdentifier: [UInt8]? = nil) throws(Failure) -> Made {
        guard let first = names.first else { throw Failure(description: "no name to certify") }
        guard names.allSatisfy(isSafeName) else { throw Failure(description: "names must be DNS names") }
        let key = try newKey()
        defer { EVP_PKEY_free(key) }
        guard let certificate = X509_new() else { throw failure("X509_new") }
        defer { X509_free(certificate) }
        var serial = [UInt8](repeating: 0, count: 16)
        _ = RAND_bytes(&serial, serial.count)
        serial[0] &= 0x7F  // positive
        let serialNumber = BN_bin2bn(serial, serial.count, nil)
        defer { BN_free(serialNumber) }
        let subject = X509_get_subject_name(certificate)
        let commonName = first.count <= 64 ? first : "swerve"
        guard X509_set_version(certificate, Int(X509_VERSION_3)) == 1,
              BN_to_ASN1_INTEGER(serialNumber, X509_get_serialNumber(certificate)) != nil,
              ASN1_TIME_set_posix(X509_getm_notBefore(certificate), now - 3600) != nil,
              ASN1_TIME_set_posix(X509_getm_notAfter(certificate), now + lifetime) != nil,
              X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1,
              X509_set_issuer_name(certificate, subject) == 1,
              X509_set_pubkey(certificate, key) == 1
        else { throw failure("building the certificate") }
        try addExtension(certificate, NID_subject_alt_name, names.map { "DNS:" + $0 }.joined(separator: ","))
        try addExtension(certificate, NID_basic_constraints, "critical,CA:FALSE")
        try addExtension(certificate, NID_ext_key_usage, "serverAuth")
        if let digest = acmeIdentifier {
            try addACMEIdentifier(certificate, digest)
        }
        guard X509_sign(certificate, key, EVP_sha256()) > 0 else { throw failure("signing the certificate") }
        let certificatePEM = try pem { PEM_write_bio_X509($0, certificate) }
        let keyPEM = try privateKeyPEM(key)
        return Made(certificatePEM: certificatePEM, keyPEM: keyPEM)
    }

    /// A new P-256 key. Owned: `EVP_PKEY_free` it.
    package static func newKey() throws(Failure) -> OpaquePointer {
        guard let ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1) else { throw failure("EC_KEY_new") }
        guard EC_KEY_generate_key(ec) == 1, let key = EVP_PKEY_new() else {
            EC_KEY_free(ec)
            throw failure("generating a P-256 key")
        }
        guard EVP_PKEY_assign_EC_KEY(key, ec) == 1 else {
            EC_KEY_free(ec)
            EVP_PKEY_free(key)
            throw failure("EVP_PKEY_assign_EC_KEY")
        }
        return key
    }

    /// The key as unencrypted PKCS#8 PEM.
    package static func privateKeyPEM(_ key: OpaquePointer) throws(Failure) -> [UInt8] {
        try pem { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
    }

    /// What `write` put into a memory BIO.
    package static func pem(_ write: (OpaquePointer) -> Int32) throws(Failure) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw failure("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw failure("writing PEM") }
        var contents: UnsafePointer<UInt8>?
        var length = 0
        guard BIO_mem_contents(bio, &contents, &length) == 1, let contents else { throw failure("reading PEM") }
        return Array(UnsafeBufferPointer(start: contents, count: length))
    }

    /// An extension in OpenSSL's config syntax ("DNS:a,DNS:b").
    package static func makeExtension(_ nid: Int32, _ value: String) throws(Failure) -> OpaquePointer {
        guard let ext = X509V3_EXT_nconf_nid(nil, nil, nid, value) else { throw failure("extension \(nid)") }
        return ext
    }

    private static func addExtension(_ certificate: OpaquePointer, _ nid: Int32, _ value: String) throws(Failure) {
        let ext = try makeExtension(nid, value)
        defer { X509_EXTENSION_free(ext) }
        guard X509_add_ext(certificate, ext, -1) == 1 else { throw failure("adding extension \(nid)") }
    }

    /// id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31), critical; its value is the
    /// DER OCTET STRING of the digest (RFC 8737 §3).
    private static func addACMEIdentifier(_ certificate: OpaquePointer, _ digest: [UInt8]) throws(Failure) {
        guard digest.count == 32, let oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1) else {
            throw Failure(description: "acmeIdentifier needs a SHA-256 digest")
        }
        defer { ASN1_OBJECT_free(oid) }
        guard let value = ASN1_OCTET_STRING_new() else { throw failure("ASN1_OCTET_STRING_new") }
        defer { ASN1_OCTET_STRING_free(value) }
        let der: [UInt8] = [0x04, 0x20] + digest
        guard ASN1_OCTET_STRING_set(value, der, Int32(der.count)) == 1,
              let ext = X509_EXTENSION_create_by_OBJ(nil, oid, 1, value)
        else { throw failure("acmeIdentifier") }
        defer { X509_EXTENSION_free(ext) }
        guard X509_add_ext(certificate, ext, -1) == 1 else { throw failure("adding acmeIdentifier") }
    }

    /// Letters, digits, '-', '.': what a DNS name in an ACME order is, and
    /// nothing that could change the meaning of the extension syntax.
    package static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
    }

    static func failure(_ step: String) -> Failure {
        Failure(description: "\(step) failed: \(BoringSSLErrors.take())")
    }
}
