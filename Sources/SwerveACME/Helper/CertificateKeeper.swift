import Foundation
import Logging
import SwerveConfig

/// The helper's loop: for each ACME vhost, get a certificate when it has
/// none (or one that no longer covers its names), renew it when its time
/// comes, back off after failures, and ask the master to reload after
/// every certificate stored. Never gives up: a failing directory is retried
/// for as long as the server runs, while the workers keep serving what they have.
/// One task runs it (`@unchecked Sendable` only to hand it to that task).
final class CertificateKeeper: @unchecked Sendable {
    struct Site {
        var names: [String]
        var certificate: IssuedCertificate?
        var dueAt: Double = 0
        var renewAt: Double?
        var failures = 0
    }

    let settings: ACMESettings
    let client: ACMEClient
    let logger: Logger
    /// Tells the master a certificate changed; false when it is gone.
    let askReload: @Sendable () -> Bool
    private(set) var sites: [Site]
    private var registered = false

    /// The longest the loop sleeps: renewal information is asked for again after it.
    static let longestSleep = 6 * 3600.0

    init(config: Config, settings: ACMESettings, client: ACMEClient, logger: Logger,
         askReload: @escaping @Sendable () -> Bool) {
        self.settings = settings
        self.client = client
        self.logger = logger
        self.askReload = askReload
        let layout = settings.layout
        sites = config.acmeVHosts.compactMap { vhost in
            let names = vhost.exactNames  // lowercase already: the decoder folds them
            guard let first = names.first else { return nil }
            let stored = StorageFiles.read(layout.chain(first)).flatMap(IssuedCertificate.init(pem:))
            return Site(names: names, certificate: stored)
        }
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    func run() async {
        while !Task.isCancelled {
            for index in sites.indices where sites[index].dueAt <= Self.now() {
                await work(on: index)
            }
            let next = sites.map(\.dueAt).min() ?? Self.now() + Self.longestSleep
            let wait = min(max(next - Self.now(), 0.5), Self.longestSleep)
            try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
        }
    }

    /// One pass over one vhost: issue or renew when needed, else plan the next look.
    func work(on index: Int) async {
        let names = sites[index].names
        let list = names.joined(separator: ", ")
        do {
            if !registered {
                let account = try await client.register(email: settings.email)
                registered = true
                try? StorageFiles.write(Array(account.utf8), to: settings.layout.accountURL, mode: 0o600)
                logger.info("acme: account \(account) at \(settings.directory)")
            }
            // A fresh look at when to renew: on the first pass, and after each long sleep.
            if sites[index].renewAt == nil, let certificate = sites[index].certificate {
                sites[index].renewAt = await renewalTime(of: certificate)
            }
            let site = sites[index]
            if RenewalPlan.needsCertificate(site.certificate, names: names, now: Self.now(), renewAt: site.renewAt) {
                let covered = site.certificate?.covers(names) == true
                let reason = site.certificate == nil ? "none stored" : covered ? "renewal" : "names changed"
                logger.info("acme: requesting a certificate for \(list) from \(settings.directory) (\(reason))")
                let replaces = covered ? site.certificate?.renewalID : nil
                let issued = try await Issuer(client: client, settings: settings, logger: logger)
                    .issue(names: names, replaces: replaces)
                sites[index].certificate = issued
                let renewAt = await renewalTime(of: issued)
                sites[index].renewAt = renewAt
                logger.notice("acme: certificate for \(list) stored, valid until \(Self.date(issued.notAfter)), renewal from \(Self.date(Int64(renewAt))); asking the master to reload")
                if !askReload() { logger.warning("acme: the master is gone; the certificate takes effect at the next start") }
            }
            sites[index].failures = 0
            let renewAt = sites[index].renewAt ?? Self.now()
            if renewAt <= Self.now() + Self.longestSleep {
                sites[index].dueAt = renewAt
            } else {
                sites[index].dueAt = Self.now() + Self.longestSleep
                sites[index].renewAt = nil
            }
        } catch {
            // A stop cancels the order: whatever the cancelled step threw is no failure to log.
            if error is CancellationError || Task.isCancelled { return }
            sites[index].failures += 1
            let failure = error as? ACMEError
            let delay = RenewalPlan.backoff(failures: sites[index].failures, transient: failure?.isTransient ?? true,
                                            retryAfter: failure?.retryAfter)
            sites[index].dueAt = Self.now() + delay
            logger.error("acme: cannot get a certificate for \(list) from \(settings.directory): \(error); attempt \(sites[index].failures), retrying in \(RenewalPlan.describe(delay))")
        }
    }

    /// From the CA's renewal window when it offers one, else from `renew_before`.
    private func renewalTime(of certificate: IssuedCertificate) async -> Double {
        var window: (Double, Double)?
        if let id = certificate.renewalID {
            do {
                if let info = try await client.renewalInfo(id) {
                    window = (info.suggestedWindow.start.timeIntervalSince1970, info.suggestedWindow.end.timeIntervalSince1970)
                }
            } catch {
                logger.warning("acme: no renewal information (RFC 9773) for the certificate: \(error); renewing by renew_before")
            }
        }
        let renewBefore = Double(settings.renewBefore.components.seconds)
        return RenewalPlan.renewalTime(of: certificate, renewBefore: renewBefore, window: window,
                                       fraction: Double.random(in: 0..<1))
    }

    static func date(_ seconds: Int64) -> String { CertificateFiles.date(seconds) }
}
