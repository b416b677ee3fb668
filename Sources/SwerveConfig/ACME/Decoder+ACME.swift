/// The top-level `acme:` block.
extension ConfigDecoder {
    mutating func decodeACME(_ node: Node) -> ACMESettings? {
        guard let fields = reader.fields(node, of: "acme", known: Self.acmeKeys) else { return nil }
        var acme = ACMESettings()
        acme.marks.block = node.mark
        if let node = fields["email"], let email = reader.word(node, "email") {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            if parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(" "), !email.contains(",") {
                acme.email = email
            } else {
                reader.diagnostics.error("'email' must be one address such as admin@example.com, found '\(email)'", at: node.mark)
            }
        }
        if let node = fields["directory"], let url = reader.word(node, "directory") {
            if Self.isHTTPSURL(url) {
                acme.directory = url
                acme.marks.directory = node.mark
            } else {
                reader.diagnostics.error("'directory' must be an https:// URL such as \(ACMESettings.letsEncrypt), found '\(url)'",
                                         at: node.mark)
            }
        }
        if let node = fields["ca_roots"], let file = path(node, "ca_roots") {
            acme.caRoots = file
            acme.marks.caRoots = node.mark
        }
        if let node = fields["storage"], let folder = path(node, "storage") {
            acme.storage = folder
            acme.marks.storage = node.mark
        }
        if let node = fields["challenge"], let challenge: ACMESettings.Challenge = choice(node, "challenge") {
            acme.challenge = challenge
        }
        if let node = fields["renew_before"], let value = reader.duration(node, "renew_before") {
            // Let's Encrypt's certificates last 90 days (and are getting shorter):
            // an hour is the least that still leaves time to retry.
            if value >= .seconds(3600) {
                acme.renewBefore = value
            } else {
                reader.diagnostics.error("'renew_before' must be at least 1h, found '\(node.scalar ?? "")'", at: node.mark)
            }
        }
        return acme
    }

    /// "https://host[:port]/path" with a host.
    static func isHTTPSURL(_ text: String) -> Bool {
        guard text.lowercased().hasPrefix("https://") else { return false }
        let rest = text.dropFirst("https://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return !authority.isEmpty && !authority.contains("@") && !text.contains(" ")
    }
}
