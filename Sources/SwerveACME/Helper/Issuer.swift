import CNIOBoringSSL
import Logging
import SwerveConfig

/// One certificate, start to finish (RFC 8555 §7.4): order every name of a
/// vhost, answer each pending authorization with the configured challenge,
/// finalize with a CSR for a new key, download the chain and store key and
/// chain. Challenge answers are removed however it ends.
struct Issuer {
    let client: ACMEClient
    let settings: ACMESettings
    let logger: Logger

    var layout: ACMEStorage { settings.layout }

    /// Returns the stored certificate. `replaces` is the ARI id of the one it renews.
    func issue(names: [String], replaces: String?) async throws -> IssuedCertificate {
        let (orderURL, order) = try await client.newOrder(names: names, replaces: replaces)
        var answers: [String] = []
        defer { answers.forEach(StorageFiles.remove) }
        var pending: [(url: String, name: String)] = []
        for url in order.authorizations {
            let authorization = try await client.authorization(url)
            let name = authorization.identifier.value
            if authorization.status == "valid" { continue }
            guard authorization.status == "pending" else {
                throw ACMEError.invalid("the authorization for \(name) is \(authorization.status)", nil)
            }
            let type = settings.challenge.rawValue
            guard let challenge = authorization.challenges.first(where: { $0.type == type }), let token = challenge.token,
                  ACMEStorage.isToken(Substring(token)) else {
                throw ACMEError.invalid("the directory offers no usable \(type) challenge for \(name)", nil)
            }
            answers.append(try writeAnswer(name: name, token: token))
            try await client.respond(to: challenge)
            pending.append((url, name))
        }
        // Every challenge is out before the first is awaited: the CA checks them side by side.
        for (url, name) in pending {
            let settled = try await client.poll(url, as: ACMEAuthorization.self, what: "the authorization for \(name)") {
                $0.status != "pending"
            }
            let type = settings.challenge.rawValue
            guard settled.status == "valid" else {
                let problem = settled.challenges.first { $0.type == type }?.error
                throw ACMEError.invalid("\(type) for \(name) failed", problem)
            }
            logger.info("acme: \(name) proved with \(type)")
        }
        let ready = try await client.poll(orderURL, as: ACMEOrder.self, what: "the order for \(names.joined(separator: ", "))") {
            $0.status != "pending"
        }
        guard ready.status == "ready" else {
            // "valid" too: finalized by someone else, for a key we do not have.
            throw ACMEError.invalid("the order is \(ready.status), not ready to finalize", ready.error)
        }
        let key = try CertificateBuilder.newKey()
        defer { EVP_PKEY_free(key) }
        try await client.finalize(ready, csr: try CertificateRequest.der(names: names, key: key))
        let done = try await client.poll(orderURL, as: ACMEOrder.self, what: "the finalized order") {
            $0.status != "processing" && $0.status != "ready"
        }
        guard done.status == "valid", let certificateURL = done.certificate else {
            throw ACMEError.invalid("the order ended \(done.status)", done.error)
        }
        let chain = try await client.certificate(certificateURL)
        guard let issued = IssuedCertificate(pem: chain), issued.covers(names) else {
            throw ACMEError.unexpected("the certificate at \(certificateURL) is not a PEM chain for \(names.joined(separator: ", "))")
        }
        guard IssuedCertificate.leaf(of: chain, matches: key) else {
            throw ACMEError.unexpected("the certificate at \(certificateURL) is not for the key of our CSR")
        }
        try store(chain: chain, key: try CertificateBuilder.privateKeyPEM(key), for: names[0])
        return issued
    }

    /// Both files are written and synced first, then renamed key first,
    /// chain right after: a reload that reads between the two renames (an
    /// operator's, not the helper's, which comes after both) sees a key that
    /// does not match for microseconds, not for a disk's fsync, and the
    /// master's check reads a mismatch again before it counts.
    private func store(chain: [UInt8], key: [UInt8], for name: String) throws {
        try StorageFiles.makeFolders(layout.certificateFolder(name), mode: 0o700)
        let stagedKey = try StorageFiles.stage(key, for: layout.key(name), mode: 0o600)
        let stagedChain: StorageFiles.Staged
        do {
            stagedChain = try StorageFiles.stage(chain, for: layout.chain(name), mode: 0o644)
        } catch {
            StorageFiles.discard(stagedKey)
            throw error
        }
        do {
            try StorageFiles.commit(stagedKey)
        } catch {
            StorageFiles.discard(stagedChain)
            throw error
        }
        try StorageFiles.commit(stagedChain)
    }

    /// Puts the answer where the workers find it; returns its path.
    private func writeAnswer(name: String, token: String) throws -> String {
        let keyAuthorization = token + "." + client.key.thumbprint
        switch settings.challenge {
        case .http01:
            let path = layout.challenges + "/" + token
            try StorageFiles.write(Array(keyAuthorization.utf8), to: path, mode: 0o644)
            return path
        case .tlsALPN01:
            let made = try CertificateBuilder.selfSigned(names: [name], lifetime: 86_400, now: Int64(time(nil)),
                                                         acmeIdentifier: Digest.sha256(Array(keyAuthorization.utf8)))
            let path = layout.alpnChallenge(name)
            // Workers run as the helper's user: they can read it at 0600.
            try StorageFiles.write(made.certificatePEM + made.keyPEM, to: path, mode: 0o600)
            return path
        }
    }
}
