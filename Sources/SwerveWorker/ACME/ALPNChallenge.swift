import CNIOBoringSSL
import NIOSSL
import SwerveConfig

/// tls-alpn-01 (RFC 8737) in the worker: a ClientHello to an ACME vhost
/// that offers ALPN `acme-tls/1` gets the challenge certificate the helper
/// stored for its server name instead of the vhost's own, and `acme-tls/1`
/// is negotiated (the validator then closes). Done in BoringSSL's
/// select-certificate callback on the vhost's `SSL_CTX` (NIOSSL has no hook
/// that sees ALPN before the certificate is chosen); the extension is read
/// with BoringSSL's own parser (CBS).
enum ALPNChallenge {
    static let protocolName = "acme-tls/1"

    /// Where the helper puts challenge certificates; set once, before any
    /// context is made, and only read after (the callback cannot capture).
    nonisolated(unsafe) static var layout: ACMEStorage?

    /// Installs the callback on `context`; false when NIOSSL's `SSL_CTX` cannot be reached.
    static func install(on context: NIOSSLContext, layout: ACMEStorage) -> Bool {
        Self.layout = layout
        guard let pointer = ContextTuning.sslContext(of: context) else { return false }
        SSL_CTX_set_select_certificate_cb(pointer) { hello in
            guard let hello, ALPNChallenge.offersACME(hello) else { return ssl_select_cert_success }
            ALPNChallenge.useChallengeCertificate(hello.pointee.ssl)
            return ssl_select_cert_success
        }
        return true
    }

    static func offersACME(_ hello: UnsafePointer<SSL_CLIENT_HELLO>) -> Bool {
        var data: UnsafePointer<UInt8>?
        var length = 0
        guard SSL_early_callback_ctx_extension_get(hello, UInt16(TLSEXT_TYPE_application_layer_protocol_negotiation),
                                                   &data, &length) == 1 else { return false }
        var body = CBS()
        CBS_init(&body, data, length)
        var list = CBS()
        guard CBS_get_u16_length_prefixed(&body, &list) == 1 else { return false }
        while CBS_len(&list) > 0 {
            var name = CBS()
            guard CBS_get_u8_length_prefixed(&list, &name) == 1 else { return false }
            if CBS_mem_equal(&name, protocolName, protocolName.utf8.count) == 1 { return true }
        }
        return false
    }

    /// The stored challenge certificate for the SNI name, when there is one;
    /// else the handshake goes on with the vhost's (and the validation fails).
    private static func useChallengeCertificate(_ ssl: OpaquePointer?) {
        guard let ssl, let layout, let raw = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return }
        let name = String(cString: raw).lowercased()
        guard CertificateBuilder.isSafeName(name),
              case .success(let pem) = FileSystem.readFile(layout.alpnChallenge(name), limit: 64 << 10) else { return }
        pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, bytes.count) else { return }
            defer { BIO_free(bio) }
            guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else { return }
            defer { X509_free(certificate) }
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else { return }
            defer { EVP_PKEY_free(key) }
            _ = SSL_use_certificate(ssl, certificate)
            _ = SSL_use_PrivateKey(ssl, key)
        }
        ERR_clear_error()
    }
}
