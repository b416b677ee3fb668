/// Where the ACME helper keeps what it owns under `acme.storage`, shared by
/// the master (which loads issued certificates), the workers (which serve
/// challenge answers) and the helper (which writes them all):
///
///     accounts/DIRECTORY/key.pem            account key (0600)
///     accounts/DIRECTORY/account.url        the account's URL at the CA
///     certificates/DIRECTORY/NAME/fullchain.pem, key.pem (0600)
///     challenges/TOKEN                      http-01 key authorizations
///     challenges/tls-alpn-01/NAME.pem       tls-alpn-01 certificate and key
///
/// DIRECTORY is the directory URL made into one path component, so that
/// switching from a staging CA to a real one starts afresh (as Caddy does).
public struct ACMEStorage: Sendable, Equatable {
    public let root: String
    public let directoryID: String

    public init(root: String, directory: String) {
        self.root = root
        directoryID = Self.component(directory)
    }

    public var accountFolder: String { "\(root)/accounts/\(directoryID)" }
    public var accountKey: String { accountFolder + "/key.pem" }
    public var accountURL: String { accountFolder + "/account.url" }
    public var challenges: String { root + "/challenges" }
    public var alpnChallenges: String { challenges + "/tls-alpn-01" }

    /// A vhost's certificate is filed under its first name.
    public func certificateFolder(_ name: String) -> String {
        "\(root)/certificates/\(directoryID)/\(Self.component(name))"
    }

    public func chain(_ name: String) -> String { certificateFolder(name) + "/fullchain.pem" }
    public func key(_ name: String) -> String { certificateFolder(name) + "/key.pem" }
    public func alpnChallenge(_ name: String) -> String { alpnChallenges + "/" + Self.component(name) + ".pem" }

    /// An http-01 token is base64url (RFC 8555 §8.1): anything else is not a
    /// token and never becomes a path.
    public static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.count <= 256 && text.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    /// "https://acme.example/dir" → "acme.example-dir": letters, digits,
    /// '.', '-' and '_' only, never "." or "..".
    static func component(_ text: String) -> String {
        var body = Substring(text.lowercased())
        if let scheme = body.firstRange(of: "://") { body = body[scheme.upperBound...] }
        var out = ""
        for scalar in body.unicodeScalars {
            let keep = (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") || scalar == "." || scalar == "_" || scalar == "-"
            out.unicodeScalars.append(keep ? scalar : "-")
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out.allSatisfy({ $0 == "." }) ? "_" + out : out
    }
}
