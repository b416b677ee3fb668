/// SPEC §2.1's rules for automatic certificates: `acme: true` needs the
/// top-level block; ACME's http-01 and tls-alpn-01 prove control of DNS
/// names only; and a name the CA cannot reach on the challenge's port
/// (80 for http-01, 443 for tls-alpn-01) through this config's own
/// listeners is worth a warning, as it will not validate unless something
/// in front forwards that port here.
extension ConfigValidator {
    mutating func checkACME() {
        let vhosts = config.vhosts.filter { $0.tls?.acme == true }
        guard let acme = config.acme else {
            for vhost in vhosts {
                diagnostics.error("'acme: true' needs a top-level 'acme' block (at least 'acme: { email: you@example.com }')",
                                  at: vhost.tls?.marks.acme ?? vhost.marks.vhost)
            }
            return
        }
        if vhosts.isEmpty {
            diagnostics.warning("no vhost has 'tls: { acme: true }': this 'acme' block is unused", at: acme.marks.block)
        }
        checkACMEFiles(acme)
        let plainPort80 = config.vhosts.contains { vhost in
            vhost.listen.contains { $0.port == 80 && !vhost.tlsListen.contains($0) }
        }
        for vhost in vhosts {
            for (name, mark) in zip(vhost.names, vhost.marks.names) {
                switch name {
                case .wildcard:
                    diagnostics.error("'\(name)': a wildcard certificate needs ACME's dns-01 challenge, which swerve does not answer; list the names instead",
                                      at: mark)
                    continue
                case .exact(let host) where Self.isAddress(host):
                    diagnostics.error("'\(host)' is an address: swerve asks ACME for certificates for DNS names only", at: mark)
                    continue
                case .exact:
                    break
                }
                switch acme.challenge {
                case .http01 where !plainPort80:
                    diagnostics.warning("the CA checks '\(name)' with http-01 on port 80, and no plain listener here uses port 80: it validates only if port 80 reaches this server some other way",
                                        at: mark)
                case .tlsALPN01 where !vhost.tlsListen.contains(where: { $0.port == 443 }):
                    diagnostics.warning("the CA checks '\(name)' with tls-alpn-01 on port 443, and this vhost has no TLS listener on port 443: it validates only if port 443 reaches this server some other way",
                                        at: mark)
                default:
                    break
                }
            }
        }
    }

    private mutating func checkACMEFiles(_ acme: ACMESettings) {
        if let mark = acme.marks.storage, ![.directory, .missing].contains(FileSystem.kind(of: acme.storage)) {
            diagnostics.error("acme.storage '\(acme.storage)' exists and is not a folder", at: mark)
        }
        guard let roots = acme.caRoots, let mark = acme.marks.caRoots else { return }
        guard let bytes = CertificateFiles.read(roots, "acme.ca_roots", at: mark, &diagnostics) else { return }
        if !String(decoding: bytes, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") {
            diagnostics.error("acme.ca_roots '\(roots)' holds no PEM certificate", at: mark)
        }
    }

    /// An IPv4 or IPv6 literal rather than a DNS name.
    static func isAddress(_ host: String) -> Bool {
        host.contains(":") || host.hasPrefix("[") || (!host.isEmpty && host.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") })
    }
}
