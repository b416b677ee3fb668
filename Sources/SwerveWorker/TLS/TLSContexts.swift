import CNIOBoringSSL
import NIOSSL
import SwerveConfig

/// The worker's TLS: one context per vhost with a certificate, built after
/// fork from the bytes the master read (SPEC §2.1), and per TLS listener the
/// SNI → context table, which picks like Host does (exact, then wildcard,
/// then the listener's default vhost).
package struct TLSContexts: Sendable {
    private let table: HostTable<NIOSSLContext>
    package let addresses: Set<ListenAddress>
    /// False when the ticket key and cipher order could not be set (see `ContextTuning`).
    package let sharesTickets: Bool
    /// False when tls-alpn-01 answers could not be installed (`ALPNChallenge`).
    package let answersALPNChallenges: Bool

    /// TLS 1.2 suites: ECDHE (forward secrecy) with an AEAD only. TLS 1.3's
    /// three suites are all of that kind and BoringSSL does not let them be changed.
    static let tls12Suites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// Offered by ALPN, in the server's order of preference: `h2` first
    /// unless `server.http2` is false.
    static func applicationProtocols(http2: Bool) -> [String] {
        http2 ? [HTTP2Pipeline.protocolName, "http/1.1"] : ["http/1.1"]
    }

    package init(config: Config) throws {
        var vhosts: [VirtualHost] = []
        var contexts: [NIOSSLContext] = []
        var shared = true
        var answers = true
        for vhost in config.vhosts where !vhost.tlsListen.isEmpty {
            // Validation refuses a TLS listener without a checked certificate.
            guard let material = vhost.tls?.material else { continue }
            var tlsOnly = vhost
            tlsOnly.listen = vhost.listen.filter { vhost.tlsListen.contains($0) }
            let answersALPN = vhost.tls?.acme == true && config.acme?.challenge == .tlsALPN01
            let context = try Self.makeContext(material, http2: config.server.http2, acmeALPN: answersALPN)
            shared = ContextTuning.apply(ticketKey: config.sessionTicketKey, to: context) && shared
            if answersALPN, let acme = config.acme {
                answers = ALPNChallenge.install(on: context, layout: acme.layout) && answers
            }
            vhosts.append(tlsOnly)
            contexts.append(context)
        }
        table = HostTable(vhosts: vhosts, values: contexts)
        addresses = config.tlsAddresses
        sharesTickets = shared
        answersALPNChallenges = answers
    }

    /// The context for a ClientHello's server name (nil: none sent) on `listener`.
    package func context(serverName: String?, listener: ListenAddress) -> NIOSSLContext? {
        table.lookup(host: serverName, listener: listener)
    }

    /// `acmeALPN`: also offer `acme-tls/1`, which only an ACME validator asks for.
    static func makeContext(_ material: CertificateMaterial, http2: Bool = true, acmeALPN: Bool = false) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMBytes(material.chainPEM)
        let key = try NIOSSLPrivateKey(bytes: material.keyPEM, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuites = tls12Suites
        configuration.applicationProtocols = applicationProtocols(http2: http2) + (acmeALPN ? [ALPNChallenge.protocolName] : [])
        // How long a close waits for the client's close_notify or FIN: as long
        // as a plain connection lingers, not NIOSSL's 5 s.
        configuration.shutdownTimeout = .seconds(2)
        return try NIOSSLContext(configuration: configuration)
    }
}

/// What swift-nio-ssl (2.37) has no API for, set on BoringSSL's `SSL_CTX`
/// itself, which NIOSSL keeps private (`NIOSSLContext.sslContext`, read by
/// reflection). If a later version renames it, `apply` says so (false), the
/// worker logs a warning and the cross-worker resumption test fails.
///
/// - Session tickets that any worker can open. BoringSSL makes a random
///   ticket key per context, so a ticket issued by one worker would mean a
///   full handshake at another; the master makes one key per generation
///   (`Config.sessionTicketKey`) and every worker installs it with
///   `SSL_CTX_set_tlsext_ticket_keys`, as nginx shares its ticket keys.
/// - The server's order of TLS 1.2 suites (`tls12Suites`, AES-GCM first),
///   not the client's: what testssl.sh asks of a server, and nginx's
///   `ssl_prefer_server_ciphers on`.
enum ContextTuning {
    static func apply(ticketKey key: [UInt8], to context: NIOSSLContext) -> Bool {
        guard key.count == 48, let pointer = sslContext(of: context) else { return false }
        SSL_CTX_set_options(pointer, UInt32(SSL_OP_CIPHER_SERVER_PREFERENCE))
        return key.withUnsafeBytes { SSL_CTX_set_tlsext_ticket_keys(pointer, $0.baseAddress, $0.count) } == 1
    }

    /// NIOSSL's private `SSL_CTX`.
    static func sslContext(of context: NIOSSLContext) -> OpaquePointer? {
        Mirror(reflecting: context).children.first(where: { $0.label == "sslContext" })?.value as? OpaquePointer
    }
}
