/// A vhost's `tls:` block (SPEC §2.1): where its certificate and key are,
/// and what its plain listeners do. The files are read by the master
/// (`CertificateFiles`), never by a worker, which may run as a user that
/// cannot read the key.
public struct TLSSettings: Sendable {
    /// PEM: the leaf first, then the chain.
    public var certificate = ""
    /// PEM: RSA or ECDSA, unencrypted.
    public var key = ""
    /// `acme: true`: the certificate comes from the top-level `acme`
    /// directory instead of `certificate` and `key` (files under `acme.storage`).
    public var acme = false
    /// Requests on this vhost's plain listeners → 308 to https.
    public var redirectHTTP = false
    /// The `Strict-Transport-Security` value sent on its TLS responses.
    public var hsts: String?
    /// The files' bytes, once `CertificateFiles` has read and checked them.
    public var material: CertificateMaterial?
    public var marks = Marks()

    public struct Marks: Sendable {
        public var block = Mark.start
        public var certificate = Mark.start
        public var key = Mark.start
        public var redirectHTTP: Mark?
        public var acme: Mark?
    }

    public init() {}
}

/// A certificate chain and its key as read from disk, checked to belong
/// together: what a worker builds its TLS context from.
public struct CertificateMaterial: Sendable {
    public var chainPEM: [UInt8]
    public var keyPEM: [UInt8]

    public init(chainPEM: [UInt8], keyPEM: [UInt8]) {
        self.chainPEM = chainPEM
        self.keyPEM = keyPEM
    }
}
