/// A vhost's `tls:` block. The files it names are read and checked later,
/// by `CertificateFiles`, once the whole config has decoded.
extension ConfigDecoder {
    mutating func decodeTLS(_ node: Node) -> TLSSettings? {
        guard let fields = reader.fields(node, of: "tls", known: Self.tlsKeys) else { return nil }
        var tls = TLSSettings()
        tls.marks.block = node.mark
        if let node = fields["acme"], let value = reader.bool(node, "acme") {
            tls.acme = value
            tls.marks.acme = node.mark
        }
        if tls.acme {
            // The helper's files stand in for certificate and key.
            for key in ["certificate", "key"] {
                if let node = fields[key] {
                    reader.diagnostics.error("'\(key)' and 'acme: true' exclude each other: the certificate comes either from files or from the ACME directory",
                                             at: node.mark)
                }
            }
        } else {
            if let node = required(fields, "certificate", in: "tls", at: node.mark), let file = path(node, "certificate") {
                tls.certificate = file
                tls.marks.certificate = node.mark
            }
            if let node = required(fields, "key", in: "tls", at: node.mark), let file = path(node, "key") {
                tls.key = file
                tls.marks.key = node.mark
            }
        }
        if let node = fields["redirect_http"], let value = reader.bool(node, "redirect_http") {
            tls.redirectHTTP = value
            tls.marks.redirectHTTP = node.mark
        }
        if let node = fields["hsts"], let value = reader.string(node, "hsts") {
            if Self.isHSTSValue(value) {
                tls.hsts = value
            } else {
                reader.diagnostics.error(
                    "'hsts' must be a Strict-Transport-Security value starting with max-age, e.g. 'max-age=31536000; includeSubDomains', found '\(value)'",
                    at: node.mark)
            }
        }
        return tls
    }

    /// RFC 6797 §6.1: directives separated by ';', one of them max-age=SECONDS;
    /// printable ASCII only (it becomes a header line).
    static func isHSTSValue(_ value: String) -> Bool {
        guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return false }
        return value.split(separator: ";").contains { directive in
            let parts = directive.split(separator: "=", maxSplits: 1)
            let name = parts.first.map { $0.trimmingBlanks().lowercased() }
            guard name == "max-age", parts.count == 2 else { return false }
            return parts[1].trimmingBlanks().filter { $0 != "\"" }.isASCIIDigits
        }
    }
}
