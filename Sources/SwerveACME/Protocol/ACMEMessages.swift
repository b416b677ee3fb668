import Foundation

/// The resources of RFC 8555 §7.1 that the helper reads, with only the
/// fields it uses.
struct ACMEDirectory: Decodable, Sendable {
    var newNonce: String
    var newAccount: String
    var newOrder: String
    /// RFC 9773: present when the CA offers renewal information.
    var renewalInfo: String?
}

struct ACMEOrder: Decodable, Sendable {
    /// pending | ready | processing | valid | invalid
    var status: String
    var authorizations: [String]
    var finalize: String
    var certificate: String?
    var error: ACMEProblem?
}

struct ACMEAuthorization: Decodable, Sendable {
    struct Identifier: Decodable, Sendable {
        var type: String
        var value: String
    }

    /// pending | valid | invalid | deactivated | expired | revoked
    var status: String
    var identifier: Identifier
    var challenges: [ACMEChallenge]
}

struct ACMEChallenge: Decodable, Sendable {
    var type: String
    var url: String
    var token: String?
    /// pending | processing | valid | invalid
    var status: String
    var error: ACMEProblem?
}

/// RFC 7807 problem document, as ACME sends them (RFC 8555 §6.7).
struct ACMEProblem: Decodable, Sendable, CustomStringConvertible {
    var type: String?
    var detail: String?
    var subproblems: [ACMEProblem]?

    var description: String {
        let kind = (type ?? "about:blank").replacingOccurrences(of: "urn:ietf:params:acme:error:", with: "")
        var text = detail.map { "\(kind): \($0)" } ?? kind
        if let subproblems, !subproblems.isEmpty {
            text += " [" + subproblems.map(\.description).joined(separator: "; ") + "]"
        }
        return text
    }

    var isBadNonce: Bool { type == "urn:ietf:params:acme:error:badNonce" }
}

/// RFC 9773 §4.2.
package struct ACMERenewalInfo: Decodable, Sendable {
    package struct Window: Decodable, Sendable {
        package var start: Date
        package var end: Date
    }

    package var suggestedWindow: Window
}

extension JSONDecoder {
    /// ACME's timestamps are RFC 3339, with or without fractions of a second.
    package static var acme: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            let plain = ISO8601DateFormatter()
            let fractional = ISO8601DateFormatter()
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            guard let date = plain.date(from: text) ?? fractional.date(from: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not RFC 3339: \(text)"))
            }
            return date
        }
        return decoder
    }
}
