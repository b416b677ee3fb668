import CNIOBoringSSL

/// What the helper needs to know about a stored certificate: when it is
/// valid, which names it covers, and its ARI identifier (RFC 9773 §4.1).
package struct IssuedCertificate: Sendable, Equatable {
    package var notBefore: Int64
    package var notAfter: Int64
    package var names: Set<String>
    /// base64url(AKI keyIdentifier) "." base64url(serial); nil without an AKI.
    package var renewalID: String?

    /// The first certificate of a PEM chain; nil when there is none.
    package init?(pem: [UInt8]) {
        let leaf: OpaquePointer? = pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, bytes.count) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_X509(bio, nil, nil, nil)
        }
        ERR_clear_error()
        guard let leaf else { return nil }
        defer { X509_free(leaf) }
        var start: Int64 = 0
        var end: Int64 = 0
        guard ASN1_TIME_to_posix(X509_get0_notBefore(leaf), &start) == 1,
              ASN1_TIME_to_posix(X509_get0_notAfter(leaf), &end) == 1 else { return nil }
        notBefore = start
        notAfter = end
        names = Self.dnsNames(leaf)
        renewalID = Self.renewalID(leaf)
    }

    package init(notBefore: Int64, notAfter: Int64, names: Set<String>, renewalID: String? = nil) {
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.names = names
        self.renewalID = renewalID
    }

    private static func dnsNames(_ leaf: OpaquePointer) -> Set<String> {
        var names = Set<String>()
        guard let raw = X509_get_ext_d2i(leaf, NID_subject_alt_name, nil, nil) else { return names }
        let general = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(general) }
        for index in 0..<sk_GENERAL_NAME_num(general) {
            guard let name = sk_GENERAL_NAME_value(general, index), name.pointee.type == GEN_DNS,
                  let ia5 = name.pointee.d.dNSName,
                  let data = ASN1_STRING_get0_data(ia5) else { continue }
            let bytes = UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(ia5)))
            names.insert(String(decoding: bytes, as: UTF8.self).lowercased())
        }
        return names
    }

    /// RFC 9773 §4.1: the AKI's keyIdentifier and the serial number's DER
    /// content octets (with the leading zero a positive number needs).
    private static func renewalID(_ leaf: OpaquePointer) -> String? {
        guard let keyID = X509_get0_authority_key_id(leaf), let keyBytes = ASN1_STRING_get0_data(keyID),
              let serial = X509_get0_serialNumber(leaf), let serialBytes = ASN1_STRING_get0_data(serial)
        else { return nil }
        let key = Array(UnsafeBufferPointer(start: keyBytes, count: Int(ASN1_STRING_length(keyID))))
        var number = Array(UnsafeBufferPointer(start: serialBytes, count: Int(ASN1_STRING_length(serial))))
        if number.isEmpty || number[0] & 0x80 != 0 { number.insert(0, at: 0) }
        return Base64URL.encode(key) + "." + Base64URL.encode(number)
    }

    /// Whether the first certificate of `pem` is for `key`'s public key.
    static func leaf(of pem: [UInt8], matches key: OpaquePointer) -> Bool {
        pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, bytes.count) else { return false }
            defer { BIO_free(bio) }
            guard let leaf = PEM_read_bio_X509(bio, nil, nil, nil) else { return false }
            defer { X509_free(leaf) }
            defer { ERR_clear_error() }
            return X509_check_private_key(leaf, key) == 1
        }
    }

    /// True when it covers every one of `wanted` (lowercased DNS names).
    package func covers(_ wanted: [String]) -> Bool { wanted.allSatisfy { names.contains($0.lowercased()) } }
}
