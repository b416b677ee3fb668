import Testing
import SwerveACME

/// When the helper works on a certificate, with a fake clock: renewal by
/// `renew_before`, by a third of a short lifetime, by the CA's window
/// (RFC 9773), and back-off after failures.
@Suite struct RenewalPlanTests {
    static let day = 86_400.0
    /// A 90-day certificate issued at t = 0.
    static let ninetyDays = IssuedCertificate(notBefore: 0, notAfter: 90 * 86_400, names: ["a.test", "www.a.test"])

    @Test func renewsRenewBeforeExpiry() {
        let at = RenewalPlan.renewalTime(of: Self.ninetyDays, renewBefore: 30 * Self.day, window: nil, fraction: 0.5)
        #expect(at == 60 * Self.day)
        let later = RenewalPlan.renewalTime(of: Self.ninetyDays, renewBefore: 10 * Self.day, window: nil, fraction: 0.5)
        #expect(later == 80 * Self.day)
        // An operator's longer margin is kept.
        #expect(RenewalPlan.renewalTime(of: Self.ninetyDays, renewBefore: 60 * Self.day, window: nil, fraction: 0) == 30 * Self.day)
    }

    @Test func aWindowAlreadyPastDoesNotMeanRenewingAtOnce() {
        let past = (start: -5 * Self.day, end: -4 * Self.day)
        #expect(RenewalPlan.renewalTime(of: Self.ninetyDays, renewBefore: 30 * Self.day, window: past, fraction: 0.5) == 9 * Self.day)
    }

    @Test func aShortLivedCertificateIsRenewedAThirdOfItsLifeBeforeExpiry() {
        let sixDays = IssuedCertificate(notBefore: 0, notAfter: 6 * 86_400, names: ["a.test"])
        #expect(RenewalPlan.renewalTime(of: sixDays, renewBefore: 30 * Self.day, window: nil, fraction: 0) == 4 * Self.day)
    }

    @Test func theCAsWindowWins() {
        let window = (start: 70 * Self.day, end: 72 * Self.day)
        #expect(RenewalPlan.renewalTime(of: Self.ninetyDays, renewBefore: 30 * Self.day, window: window, fraction: 0) == 70 * Self.day)
        #expect(RenewalPlan.renewalTime(of: Self.ninetyDays, renewBefore: 30 * Self.day, window: window, fraction: 0.5) == 71 * Self.day)
        // A window that ends before it starts is ignored.
        let broken = (start: 72 * Self.day, end: 70 * Self.day)
        #expect(RenewalPlan.renewalTime(of: Self.ninetyDays, renewBefore: 30 * Self.day, window: broken, fraction: 0.5) == 60 * Self.day)
    }

    @Test func whenACertificateIsNeeded() {
        let names = ["a.test", "www.a.test"]
        #expect(RenewalPlan.needsCertificate(nil, names: names, now: 0, renewAt: nil))
        #expect(!RenewalPlan.needsCertificate(Self.ninetyDays, names: names, now: 59 * Self.day, renewAt: 60 * Self.day))
        #expect(RenewalPlan.needsCertificate(Self.ninetyDays, names: names, now: 60 * Self.day, renewAt: 60 * Self.day))
        // A name added to the vhost, or an expired certificate: at once.
        #expect(RenewalPlan.needsCertificate(Self.ninetyDays, names: names + ["b.test"], now: 1, renewAt: 60 * Self.day))
        #expect(RenewalPlan.needsCertificate(Self.ninetyDays, names: names, now: 91 * Self.day, renewAt: nil))
        #expect(RenewalPlan.needsCertificate(Self.ninetyDays, names: ["WWW.A.TEST"], now: 1, renewAt: 60 * Self.day) == false)
    }

    @Test func backsOffExponentiallyWithCapsAndRetryAfter() {
        #expect((1...5).map { RenewalPlan.backoff(failures: $0, transient: true, retryAfter: nil) } == [5, 10, 20, 40, 80])
        #expect(RenewalPlan.backoff(failures: 30, transient: true, retryAfter: nil) == 600)
        #expect((1...3).map { RenewalPlan.backoff(failures: $0, transient: false, retryAfter: nil) } == [60, 120, 240])
        #expect(RenewalPlan.backoff(failures: 40, transient: false, retryAfter: nil) == 86_400)
        // A rate limit's Retry-After is honoured when longer, up to a day.
        #expect(RenewalPlan.backoff(failures: 1, transient: false, retryAfter: 3600) == 3600)
        #expect(RenewalPlan.backoff(failures: 1, transient: false, retryAfter: 10) == 60)
        #expect(RenewalPlan.backoff(failures: 1, transient: false, retryAfter: 10_000_000) == 86_400)
        #expect(RenewalPlan.describe(5) == "5 s" && RenewalPlan.describe(120) == "2 min" && RenewalPlan.describe(7200) == "2 h")
    }
}
