import Glibc

/// The certificate an ACME vhost serves: the one the helper stored under
/// `acme.storage` when it is there and usable (checked as any certificate
/// file is), else a self-signed stand-in, with a warning that says which
/// name waits and why (SPEC §4: "until the first certificate is issued…").
enum ACMECertificate {
    /// The stand-in lives a week: a reload (after the helper's first
    /// certificate, or the operator's) makes a new one long before that.
    static let standInLifetime: Int64 = 7 * 86_400

    static func material(for vhost: VirtualHost, layout: ACMEStorage, diagnostics: inout Diagnostics,
                         now: Int64) -> CertificateMaterial? {
        let names = vhost.exactNames
        guard let first = names.first, let stored = vhost.tls else { return nil }
        let mark = stored.marks.acme ?? stored.marks.block
        var files = stored
        files.certificate = layout.chain(first)
        files.key = layout.key(first)
        files.marks.certificate = mark
        files.marks.key = mark
        let why: String
        if FileSystem.kind(of: files.certificate) == .missing {
            why = "no certificate from the ACME directory yet"
        } else {
            // Checked as a named file would be; its problems make it a stand-in's case.
            // The helper renames the key, then the chain, both already written
            // and synced: a reload that read between the two renames sees a
            // mismatch, so a failed check is read again, twice, 10 ms apart,
            // before it counts.
            var findings = Diagnostics(file: diagnostics.file)
            for attempt in 0..<3 {
                if attempt > 0 { usleep(10_000) }
                findings = Diagnostics(file: diagnostics.file)
                if let material = CertificateFiles.check(files, vhost: vhost, diagnostics: &findings, now: now) {
                    for warning in findings.warnings { diagnostics.warning(warning.message, at: warning.mark) }
                    return material
                }
            }
            why = findings.errors.map(\.message).joined(separator: "; ")
        }
        do {
            let made = try CertificateBuilder.selfSigned(names: names, lifetime: standInLifetime, now: now)
            diagnostics.warning("'\(first)' waits for its ACME certificate (\(why)): its TLS listeners serve a self-signed one until the helper 'swerve: acme' stores one in \(layout.certificateFolder(first))",
                                at: mark)
            return CertificateMaterial(chainPEM: made.certificatePEM, keyPEM: made.keyPEM)
        } catch {
            diagnostics.error("'\(first)': cannot make a self-signed stand-in certificate: \(error)", at: mark)
            return nil
        }
    }
}
