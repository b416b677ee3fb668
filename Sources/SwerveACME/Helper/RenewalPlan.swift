/// When the helper next works on a certificate: pure arithmetic on times
/// (seconds since 1970), so tests drive it with a fake clock.
package enum RenewalPlan {
    /// A certificate is renewed `renewBefore` its expiry, or — when that is
    /// not shorter than its whole lifetime (a short-lived certificate) — a
    /// third of its lifetime before (Caddy's ratio), so it is not renewed the
    /// moment it arrives. A renewal window from the CA (RFC 9773) takes
    /// precedence: a point in it, `fraction` (0..<1, random in production)
    /// of the way through. Never sooner than a tenth of the way through the
    /// certificate's life: a window already past (a CA's slip, a skewed
    /// clock) must not make the helper order certificate after certificate.
    package static func renewalTime(of certificate: IssuedCertificate, renewBefore: Double,
                                    window: (start: Double, end: Double)?, fraction: Double) -> Double {
        let lifetime = Double(certificate.notAfter - certificate.notBefore)
        let time: Double
        if let window, window.end >= window.start {
            time = window.start + (window.end - window.start) * fraction
        } else {
            time = Double(certificate.notAfter) - (renewBefore < lifetime ? renewBefore : lifetime / 3)
        }
        return max(time, Double(certificate.notBefore) + lifetime / 10)
    }

    /// Whether `names` need a new certificate at `now`.
    package static func needsCertificate(_ certificate: IssuedCertificate?, names: [String], now: Double, renewAt: Double?) -> Bool {
        guard let certificate, certificate.covers(names), Double(certificate.notAfter) > now else { return true }
        return now >= (renewAt ?? Double(certificate.notAfter))
    }

    /// After `failures` attempts in a row: the directory unreachable or
    /// failing (transient) is retried from 5 s up to 10 min; a refusal or a
    /// failed challenge from 1 min up to a day, as Caddy does, so a broken
    /// name does not spend the CA's failed-validation limit. A Retry-After
    /// the CA sent is honoured when longer (up to a day).
    package static func backoff(failures: Int, transient: Bool, retryAfter: Int?) -> Double {
        let (base, cap): (Double, Double) = transient ? (5, 600) : (60, 86_400)
        let exponent = Double(min(max(failures - 1, 0), 20))
        let delay = min(base * pow2(exponent), cap)
        return max(delay, min(Double(retryAfter ?? 0), 86_400))
    }

    private static func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        for _ in 0..<Int(exponent) { value *= 2 }
        return value
    }

    /// "5 s", "2 min", "3 h".
    package static func describe(_ seconds: Double) -> String {
        if seconds < 120 { return "\(Int(seconds.rounded())) s" }
        if seconds < 7200 { return "\(Int((seconds / 60).rounded())) min" }
        return "\(Int((seconds / 3600).rounded())) h"
    }
}
