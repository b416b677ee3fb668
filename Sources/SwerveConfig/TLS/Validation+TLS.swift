/// SPEC §2.1's rules between vhosts: a listener is TLS or plain for every
/// vhost on it, a TLS listener has a certificate for each of its vhosts,
/// and `redirect_http` needs somewhere to redirect to.
extension ConfigValidator {
    mutating func checkTLS() {
        var firstUse: [ListenAddress: (tls: Bool, mark: Mark)] = [:]
        var reported = Set<Mark>()
        for vhost in config.vhosts {
            for (address, mark) in zip(vhost.listen, vhost.marks.listen) {
                let tls = vhost.tlsListen.contains(address)
                guard let first = firstUse[address] else {
                    firstUse[address] = (tls, mark)
                    continue
                }
                if first.tls != tls {
                    let (this, other) = tls ? ("TLS", "plain") : ("plain", "TLS")
                    report("\(address) is \(this) here but \(other) in the vhost at \(first.mark): a listener speaks TLS for every vhost on it or for none",
                           at: mark, &reported)
                }
            }
        }
        for vhost in config.vhosts {
            let hasTLSListener = !vhost.tlsListen.isEmpty
            if hasTLSListener, vhost.tls == nil {
                let mark = zip(vhost.listen, vhost.marks.listen).first { vhost.tlsListen.contains($0.0) }?.1 ?? vhost.marks.vhost
                report("this vhost listens with TLS but has no certificate: add 'tls: { certificate: FILE, key: FILE }'", at: mark, &reported)
            }
            guard let tls = vhost.tls else { continue }
            if !hasTLSListener {
                if tls.redirectHTTP, let mark = tls.marks.redirectHTTP {
                    diagnostics.error("'redirect_http' needs a TLS listener on this vhost (a listen entry such as \"443 tls\")", at: mark)
                } else {
                    diagnostics.warning("this vhost has a certificate but no TLS listener: add a listen entry such as \"443 tls\"", at: tls.marks.block)
                }
            }
        }
    }
}
