import Foundation
import NIOHTTP1

/// One account's conversation with an ACME directory (RFC 8555): the
/// directory, nonces, JWS-signed POSTs (retried once more on `badNonce`, as
/// §6.5 asks), and polling with bounds. Used by one task at a time (the
/// keeper's), hence `@unchecked Sendable`.
final class ACMEClient: @unchecked Sendable {
    let directoryURL: String
    let key: AccountKey
    private let http: HTTPSClient
    private(set) var directory: ACMEDirectory?
    /// The account's URL: the JWS `kid` once the account exists.
    var accountURL: String?
    private var nonces: [String] = []

    /// How often and how long an authorization or order is polled.
    static let pollInterval = 1.0
    static let pollLimit = 120.0

    init(directoryURL: String, key: AccountKey, http: HTTPSClient) {
        self.directoryURL = directoryURL
        self.key = key
        self.http = http
    }

    // MARK: resources

    @discardableResult
    func loadDirectory() async throws -> ACMEDirectory {
        if let directory { return directory }
        let response = try await http.send(.GET, directoryURL)
        guard response.status < 300 else { throw Self.problem(response, directoryURL) }
        let loaded = try decode(ACMEDirectory.self, response, directoryURL)
        directory = loaded
        return loaded
    }

    /// Creates the account, or finds it when the key already has one (§7.3).
    func register(email: String?) async throws -> String {
        let directory = try await loadDirectory()
        var payload: [String: Any] = ["termsOfServiceAgreed": true]
        if let email { payload["contact"] = ["mailto:" + email] }
        let response = try await post(directory.newAccount, json: payload, signWithJWK: true)
        guard let url = response.header("Location") else {
            throw ACMEError.unexpected("the directory created an account without naming it (no Location)")
        }
        accountURL = url
        return url
    }

    func newOrder(names: [String], replaces: String?) async throws -> (url: String, order: ACMEOrder) {
        let directory = try await loadDirectory()
        var payload: [String: Any] = ["identifiers": names.map { ["type": "dns", "value": $0] }]
        // RFC 9773 §5: only to a CA that offers renewal information.
        if let replaces, directory.renewalInfo != nil { payload["replaces"] = replaces }
        let response: HTTPSResponse
        do {
            response = try await post(directory.newOrder, json: payload)
        } catch ACMEError.problem(let status, _, _, _) where payload["replaces"] != nil && status < 500 {
            // RFC 9773 §5: the certificate may be replaced already (an order an
            // earlier helper abandoned): order afresh, without the claim.
            payload["replaces"] = nil
            response = try await post(directory.newOrder, json: payload)
        }
        guard let url = response.header("Location") else {
            throw ACMEError.unexpected("the directory created an order without naming it (no Location)")
        }
        return (url, try decode(ACMEOrder.self, response, directory.newOrder))
    }

    func authorization(_ url: String) async throws -> ACMEAuthorization {
        try decode(ACMEAuthorization.self, try await post(url, json: nil), url)
    }

    func order(_ url: String) async throws -> ACMEOrder {
        try decode(ACMEOrder.self, try await post(url, json: nil), url)
    }

    /// Tells the CA the challenge is ready to be checked (§7.5.1).
    func respond(to challenge: ACMEChallenge) async throws {
        _ = try await post(challenge.url, json: [String: Any]())
    }

    func finalize(_ order: ACMEOrder, csr: [UInt8]) async throws {
        _ = try await post(order.finalize, json: ["csr": Base64URL.encode(csr)])
    }

    /// The PEM chain, leaf first (§7.4.2).
    func certificate(_ url: String) async throws -> [UInt8] {
        try await post(url, json: nil, accept: "application/pem-certificate-chain").body
    }

    /// RFC 9773 §4.2: an unauthenticated GET; nil when the CA offers none.
    func renewalInfo(_ certificateID: String) async throws -> ACMERenewalInfo? {
        guard let base = try await loadDirectory().renewalInfo else { return nil }
        let url = base.hasSuffix("/") ? base + certificateID : base + "/" + certificateID
        let response = try await http.send(.GET, url)
        guard response.status == 200 else { return nil }
        return try decode(ACMERenewalInfo.self, response, url)
    }

    // MARK: polling

    /// Polls until `done` says the resource is settled; `Retry-After` is
    /// honoured up to 10 s between polls, the whole wait up to `pollLimit`.
    func poll<Resource: Decodable>(_ url: String, as type: Resource.Type, what: String,
                                   until done: (Resource) -> Bool) async throws -> Resource {
        let deadline = Date().addingTimeInterval(Self.pollLimit)
        while true {
            let response = try await post(url, json: nil)
            let resource = try decode(Resource.self, response, url)
            if done(resource) { return resource }
            guard Date() < deadline else {
                throw ACMEError.unexpected("\(what) still not settled after \(Int(Self.pollLimit)) s")
            }
            let wait = min(Double(response.header("Retry-After").flatMap(Int.init) ?? 0), 10)
            try await Task.sleep(nanoseconds: UInt64(max(wait, Self.pollInterval) * 1e9))
        }
    }

    // MARK: JWS POST

    /// A JWS-signed POST; `json` nil is POST-as-GET (§6.3). Problem
    /// documents become `ACMEError.problem`; a `badNonce` is retried with
    /// the fresh nonce it carries, up to three times.
    func post(_ url: String, json: Any?, signWithJWK: Bool = false,
              accept: String = "application/json") async throws -> HTTPSResponse {
        var attempt = 0
        while true {
            attempt += 1
            let nonce = try await nextNonce()
            let body = try signedBody(url: url, json: json, nonce: nonce, signWithJWK: signWithJWK)
            let response = try await http.send(.POST, url, headers: [("Content-Type", "application/jose+json"), ("Accept", accept)],
                                               body: body)
            if let fresh = response.header("Replay-Nonce") { nonces.append(fresh) }
            if response.status < 300 { return response }
            let failure = Self.problem(response, url)
            if case .problem(_, let problem, _, _) = failure, problem.isBadNonce, attempt < 3 { continue }
            throw failure
        }
    }

    private func nextNonce() async throws -> String {
        if let nonce = nonces.popLast() { return nonce }
        let directory = try await loadDirectory()
        let response = try await http.send(.HEAD, directory.newNonce)
        guard let nonce = response.header("Replay-Nonce") else {
            throw ACMEError.unexpected("no Replay-Nonce from \(directory.newNonce) (HTTP \(response.status))")
        }
        return nonce
    }

    /// RFC 8555 §6.2: flattened JSON serialization, ES256, with `jwk` for
    /// newAccount and `kid` after.
    private func signedBody(url: String, json: Any?, nonce: String, signWithJWK: Bool) throws -> [UInt8] {
        var protected = #"{"alg":"ES256","nonce":"\#(nonce)","url":"\#(Self.escaped(url))","#
        if signWithJWK {
            protected += #""jwk":\#(key.jwk)}"#
        } else {
            guard let accountURL else { throw ACMEError.local("no account yet") }
            protected += #""kid":"\#(Self.escaped(accountURL))"}"#
        }
        let payload = try json.map { try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes]) }
        let encodedProtected = Base64URL.encode(protected)
        let encodedPayload = payload.map { Base64URL.encode(Array($0)) } ?? ""
        let signature = try key.sign(Array((encodedProtected + "." + encodedPayload).utf8))
        let body = #"{"protected":"\#(encodedProtected)","payload":"\#(encodedPayload)","signature":"\#(Base64URL.encode(signature))"}"#
        return Array(body.utf8)
    }

    /// URLs and nonces come from the CA; they are escaped before going into JSON text.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    // MARK: decoding

    /// A refusal as the error it is: the CA's problem document, or the
    /// start of whatever else it sent.
    private static func problem(_ response: HTTPSResponse, _ url: String) -> ACMEError {
        let text = String(decoding: response.body.prefix(200), as: UTF8.self)
        let problem = (try? JSONDecoder.acme.decode(ACMEProblem.self, from: Data(response.body)))
            ?? ACMEProblem(type: nil, detail: text.isEmpty ? "HTTP \(response.status)" : text)
        return .problem(status: response.status, problem, url: url,
                        retryAfter: response.header("Retry-After").flatMap(Int.init))
    }

    private func decode<T: Decodable>(_ type: T.Type, _ response: HTTPSResponse, _ url: String) throws -> T {
        do {
            return try JSONDecoder.acme.decode(type, from: Data(response.body))
        } catch {
            throw ACMEError.unexpected("\(url) answered with something that is not an ACME \(type): \(error)")
        }
    }
}
