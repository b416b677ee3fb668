import Glibc
import NIOCore
import SwerveConfig

/// http-01 (RFC 8555 §8.3): `GET /.well-known/acme-challenge/TOKEN` on a
/// plain listener, for any vhost or none, is answered with the key
/// authorization the helper stored for TOKEN — before routes and
/// `redirect_http`, since the CA must reach it on port 80 whatever the
/// vhost does there. A path with no live token goes on to the routes like
/// any other, so a site's own `.well-known` files still work.
///
/// The file is read per request, blocking: a few dozen bytes from the page
/// cache, on a path the CA visits a handful of times per certificate.
package struct ACMEChallengeAnswers: Sendable {
    static let prefix = "/.well-known/acme-challenge/"
    /// Key authorizations are "TOKEN.THUMBPRINT", under 300 bytes.
    static let maxSize = 1024
    let folder: String

    package init?(_ config: Config) {
        guard let acme = config.acme, !config.acmeVHosts.isEmpty else { return nil }
        folder = acme.layout.challenges
    }

    package init(folder: String) {
        self.folder = folder
    }

    /// The body to answer `uri` with, or nil when it is not a live token's path.
    package func answer(method: String, uri: String) -> [UInt8]? {
        guard method == "GET", uri.hasPrefix(Self.prefix) else { return nil }
        let token = uri.dropFirst(Self.prefix.count).prefix { $0 != "?" }
        guard ACMEStorage.isToken(token) else { return nil }
        let fd = open(folder + "/" + token, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: Self.maxSize)
        let count = read(fd, &bytes, bytes.count)
        guard count > 0, count < Self.maxSize else { return nil }
        return Array(bytes[0..<count])
    }
}
