import CNIOBoringSSL
import SwerveConfig

/// The CSR an order is finalized with (RFC 8555 §7.4): the names as
/// subjectAltName, the first as CN when it fits, signed by the new
/// certificate's own P-256 key. DER, as ACME wants it.
package enum CertificateRequest {
    package static func der(names: [String], key: OpaquePointer) throws -> [UInt8] {
        guard let request = X509_REQ_new() else { throw ACMEError.local("X509_REQ_new failed") }
        defer { X509_REQ_free(request) }
        let subject = X509_REQ_get_subject_name(request)
        if let first = names.first, first.utf8.count <= 64 {
            _ = X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, first, -1, -1, 0)
        }
        guard names.allSatisfy(CertificateBuilder.isSafeName) else { throw ACMEError.local("names must be DNS names") }
        let san = try CertificateBuilder.makeExtension(NID_subject_alt_name, names.map { "DNS:" + $0 }.joined(separator: ","))
        guard let extensions = sk_X509_EXTENSION_new_null() else {
            X509_EXTENSION_free(san)
            throw ACMEError.local("sk_X509_EXTENSION_new_null failed")
        }
        _ = sk_X509_EXTENSION_push(extensions, san)
        defer { sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free) }
        guard X509_REQ_set_version(request, Int(X509_REQ_VERSION_1)) == 1,
              X509_REQ_add_extensions(request, extensions) == 1,
              X509_REQ_set_pubkey(request, key) == 1,
              X509_REQ_sign(request, key, EVP_sha256()) > 0
        else { throw ACMEError.local("building the CSR failed") }
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509_REQ(request, &out)
        guard length > 0, let out else { throw ACMEError.local("encoding the CSR failed") }
        defer { OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }
}
