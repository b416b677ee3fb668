/// The top-level `acme:` block (SPEC §2.1): where the `swerve: acme` helper
/// gets certificates for vhosts with `tls: { acme: true }`, and how.
public struct ACMESettings: Sendable, Equatable {
    public enum Challenge: String, Sendable, CaseIterable {
        /// The CA fetches `http://NAME/.well-known/acme-challenge/TOKEN` (port 80).
        case http01 = "http-01"
        /// The CA opens TLS to NAME:443 with ALPN `acme-tls/1` (RFC 8737).
        case tlsALPN01 = "tls-alpn-01"
    }

    public static let letsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

    /// The account's contact (`mailto:`); optional, as for Let's Encrypt.
    public var email: String?
    /// The directory URL (https).
    public var directory = Self.letsEncrypt
    /// Extra roots (PEM) trusted for the directory's TLS, e.g. a staging CA.
    public var caRoots: String?
    /// Account key, certificates and challenge tokens live here.
    public var storage = "/var/lib/swerve/acme"
    public var challenge = Challenge.http01
    /// A certificate is renewed this long before it expires, unless the CA's
    /// renewal information (RFC 9773) names a window.
    public var renewBefore = Duration.seconds(30 * 86_400)
    public var marks = Marks()

    public struct Marks: Sendable, Equatable {
        public var block = Mark.start
        public var directory: Mark?
        public var caRoots: Mark?
        public var storage: Mark?
    }

    public init() {}

    /// The storage layout for this directory.
    public var layout: ACMEStorage { ACMEStorage(root: storage, directory: directory) }
}
