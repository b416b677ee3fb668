/// Why an ACME attempt failed, in the words the error log uses, and how
/// long to wait before the next one.
enum ACMEError: Error, CustomStringConvertible {
    /// The directory could not be reached, or answered with a server error:
    /// retried soon (the CA's limits count validations, not connections).
    case transport(String)
    /// A problem document from the CA (4xx), with Retry-After when it sent one.
    case problem(status: Int, ACMEProblem, url: String, retryAfter: Int?)
    /// A challenge or an order the CA declared invalid.
    case invalid(String, ACMEProblem?)
    /// The CA's answer made no sense to us, or it took too long.
    case unexpected(String)
    /// Something on this machine: a key, a file.
    case local(String)

    var description: String {
        switch self {
        case .transport(let text): return text
        case .problem(let status, let problem, let url, _): return "\(problem) (HTTP \(status) from \(url))"
        case .invalid(let what, let problem): return problem.map { "\(what): \($0)" } ?? what
        case .unexpected(let text), .local(let text): return text
        }
    }

    /// Transport failures and 5xx answers back off from seconds; the rest
    /// (refusals, failed challenges) from a minute, as Caddy does.
    var isTransient: Bool {
        switch self {
        case .transport: return true
        case .problem(let status, _, _, _): return status >= 500
        default: return false
        }
    }

    var retryAfter: Int? {
        if case .problem(_, _, _, let seconds) = self { return seconds }
        return nil
    }
}
