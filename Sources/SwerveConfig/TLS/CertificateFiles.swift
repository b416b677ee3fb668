import CNIOBoringSSL
import Glibc

/// Reads each vhost's certificate and key and checks them with BoringSSL,
/// the library the workers' TLS is built on (SPEC §2.1): a missing or
/// unreadable file, a key that is not the certificate's, an expired
/// certificate are errors; names the certificate does not cover, and an
/// expiry within 14 days, are warnings. What passes is kept in the config
/// as bytes, so a worker never opens the key itself.
///
/// Parsing is all this does in the master: no TLS context, no thread.
package enum CertificateFiles {
    /// PEM files are small; a larger one is not a certificate.
    static let maxFileSize = 1 << 20
    /// Expiry closer than this is a warning.
    static let warningWindow: Int64 = 14 * 86_400

    static func load(into config: inout Config, diagnostics: inout Diagnostics, now: Int64) {
        for index in config.vhosts.indices {
            guard var tls = config.vhosts[index].tls else { continue }
            if tls.acme {
                guard let acme = config.acme else { continue }
                tls.material = ACMECertificate.material(for: config.vhosts[index], layout: acme.layout,
                                                        diagnostics: &diagnostics, now: now)
            } else if !tls.certificate.isEmpty, !tls.key.isEmpty {
                tls.material = check(tls, vhost: config.vhosts[index], diagnostics: &diagnostics, now: now)
            }
            config.vhosts[index].tls = tls
        }
        if !config.tlsAddresses.isEmpty { config.sessionTicketKey = newTicketKey() }
    }

    static func check(_ tls: TLSSettings, vhost: VirtualHost, diagnostics: inout Diagnostics,
                              now: Int64) -> CertificateMaterial? {
        guard let chainPEM = read(tls.certificate, "certificate", at: tls.marks.certificate, &diagnostics),
              let keyPEM = read(tls.key, "key", at: tls.marks.key, &diagnostics)
        else { return nil }
        let chain = PEMCertificates(chainPEM)
        guard let leaf = chain.first else {
            diagnostics.error("certificate '\(tls.certificate)' holds no PEM certificate (\(BoringSSLErrors.take()))",
                              at: tls.marks.certificate)
            return nil
        }
        defer { chain.free() }
        guard let key = PEMPrivateKey(keyPEM) else {
            diagnostics.error("key '\(tls.key)' holds no unencrypted PEM private key (\(BoringSSLErrors.take()))", at: tls.marks.key)
            return nil
        }
        defer { EVP_PKEY_free(key) }
        let type = EVP_PKEY_id(key)
        guard type == EVP_PKEY_RSA || type == EVP_PKEY_EC else {
            diagnostics.error("key '\(tls.key)' is neither RSA nor ECDSA", at: tls.marks.key)
            return nil
        }
        guard X509_check_private_key(leaf, key) == 1 else {
            BoringSSLErrors.clear()
            diagnostics.error("key '\(tls.key)' does not match certificate '\(tls.certificate)' (the first certificate in the file must be the key's)",
                              at: tls.marks.key)
            return nil
        }
        var notAfter: Int64 = 0
        guard let time = X509_get0_notAfter(leaf), ASN1_TIME_to_posix(time, &notAfter) == 1 else {
            diagnostics.error("certificate '\(tls.certificate)' has an unreadable expiry date", at: tls.marks.certificate)
            return nil
        }
        if notAfter <= now {
            diagnostics.error("certificate '\(tls.certificate)' expired on \(Self.date(notAfter)): renew it", at: tls.marks.certificate)
            return nil
        }
        if notAfter - now < warningWindow {
            diagnostics.warning("certificate '\(tls.certificate)' expires on \(Self.date(notAfter)), in \((notAfter - now) / 86_400) days",
                                at: tls.marks.certificate)
        }
        var notBefore: Int64 = 0
        if let time = X509_get0_notBefore(leaf), ASN1_TIME_to_posix(time, &notBefore) == 1, notBefore > now {
            diagnostics.warning("certificate '\(tls.certificate)' is not valid before \(Self.date(notBefore))", at: tls.marks.certificate)
        }
        for (name, mark) in zip(vhost.names, vhost.marks.names) where !covers(leaf, name) {
            diagnostics.warning("certificate '\(tls.certificate)' does not cover the name '\(name)': browsers will refuse it there",
                                at: mark)
        }
        return CertificateMaterial(chainPEM: chainPEM, keyPEM: keyPEM)
    }

    /// A PEM file's bytes, or an error at `mark` naming `what` could not be read.
    static func read(_ path: String, _ what: String, at mark: Mark, _ diagnostics: inout Diagnostics) -> [UInt8]? {
        switch FileSystem.readFile(path, limit: maxFileSize) {
        case .success(let bytes):
            return bytes
        case .failure(.cannotOpen(let reason)):
            diagnostics.error("cannot read \(what) '\(path)': \(reason)", at: mark)
        case .failure(.tooLarge):
            diagnostics.error("\(what) '\(path)' is larger than 1 MiB: not a PEM file", at: mark)
        }
        return nil
    }

    /// RFC 6125 matching, as a browser does it: BoringSSL's. A wildcard
    /// vhost name is covered when a name under it is.
    private static func covers(_ leaf: OpaquePointer, _ name: ServerName) -> Bool {
        let host: String
        switch name {
        case .exact(let exact): host = exact
        case .wildcard(let suffix): host = "swerve-check." + suffix
        }
        let matched: Int32
        if host.hasPrefix("[") || host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) {
            let address = host.filter { $0 != "[" && $0 != "]" }
            matched = X509_check_ip_asc(leaf, address, 0)
        } else {
            matched = X509_check_host(leaf, host, host.utf8.count, 0, nil)
        }
        BoringSSLErrors.clear()
        return matched == 1
    }

    /// 48 bytes: BoringSSL's ticket key name, HMAC key and AES key.
    private static func newTicketKey() -> [UInt8] {
        var key = [UInt8](repeating: 0, count: 48)
        _ = RAND_bytes(&key, key.count)
        return key
    }

    /// "2026-12-14 10:00:00 UTC".
    package static func date(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = [CChar](repeating: 0, count: 32)
        let count = strftime(&text, text.count, "%Y-%m-%d %H:%M:%S UTC", &parts)
        return String(decoding: text.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The certificates of a PEM file, in order (leaf first). Owned: `free` them.
private struct PEMCertificates {
    var all: [OpaquePointer] = []

    init(_ pem: [UInt8]) {
        pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, bytes.count) else { return }
            defer { BIO_free(bio) }
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { all.append(certificate) }
        }
        // Reading stops with "no start line" at the end of the file: not an error.
        if !all.isEmpty { BoringSSLErrors.clear() }
    }

    var first: OpaquePointer? { all.first }
    func free() { all.forEach { X509_free($0) } }
}

/// The first private key of a PEM file, unencrypted (no passphrase prompt).
private func PEMPrivateKey(_ pem: [UInt8]) -> OpaquePointer? {
    pem.withUnsafeBytes { bytes in
        guard let bio = BIO_new_mem_buf(bytes.baseAddress, bytes.count) else { return nil }
        defer { BIO_free(bio) }
        return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
    }
}

/// BoringSSL's thread-local error queue, read into a message or dropped.
enum BoringSSLErrors {
    static func take() -> String {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            messages.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "not PEM" : messages.joined(separator: "; ")
    }

    static func clear() { ERR_clear_error() }
}
