import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP/1.1 response, whole: ACME's are a few kilobytes.
struct HTTPSResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// The helper's HTTPS client: SwiftNIO's HTTP/1 codec over swift-nio-ssl,
/// one connection per request (a certificate takes a dozen requests, minutes
/// apart at worst), every step bounded in time. Not async-http-client: its
/// dependency tree costs CI's 2-core build minutes it does not have
/// (docs/architecture.md).
final class HTTPSClient: Sendable {
    static let connectTimeout = TimeAmount.seconds(10)
    static let requestTimeout = TimeAmount.seconds(30)
    /// A certificate chain is a few kilobytes; anything this large is not ACME.
    static let maxBody = 1 << 20

    private let group: EventLoopGroup
    private let context: NIOSSLContext
    private let userAgent: String

    /// Trusts the system's roots and `extraRootsPEM` (acme.ca_roots).
    init(group: EventLoopGroup, extraRootsPEM: [UInt8]?, userAgent: String) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let extraRootsPEM {
            configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMBytes(extraRootsPEM))]
        }
        context = try NIOSSLContext(configuration: configuration)
        self.group = group
        self.userAgent = userAgent
    }

    func send(_ method: HTTPMethod, _ url: String, headers extra: [(String, String)] = [],
              body: [UInt8]? = nil) async throws -> HTTPSResponse {
        guard let parts = URLComponents(string: url), parts.scheme == "https", let host = parts.host, !host.isEmpty else {
            throw ACMEError.unexpected("not an https URL: \(url)")
        }
        let port = parts.port ?? 443
        var target = parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath
        if let query = parts.percentEncodedQuery { target += "?" + query }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: parts.port.map { "\(host):\($0)" } ?? host)
        headers.add(name: "User-Agent", value: userAgent)
        headers.add(name: "Connection", value: "close")
        for (name, value) in extra { headers.add(name: name, value: value) }
        if let body { headers.add(name: "Content-Length", value: String(body.count)) }

        let loop = group.next()
        let promise = loop.makePromise(of: HTTPSResponse.self)
        let context = self.context
        let serverName = Self.isAddress(host) ? nil : host
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(Self.connectTimeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let operations = channel.pipeline.syncOperations
                        try operations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                        try operations.addHTTPClientHandlers()
                        try operations.addHandler(ResponseCollector(promise: promise, limit: Self.maxBody))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw ACMEError.transport("cannot connect to \(host):\(port): \(error)")
        }
        let timeout = loop.scheduleTask(in: Self.requestTimeout) {
            promise.fail(ACMEError.transport("no answer from \(url) within \(Self.requestTimeout.nanoseconds / 1_000_000_000) s"))
            channel.close(promise: nil)
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer {
            timeout.cancel()
            channel.close(promise: nil)
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as ACMEError {
            throw error
        } catch {
            throw ACMEError.transport("\(method) \(url) failed: \(error)")
        }
    }

    static func isAddress(_ host: String) -> Bool {
        host.contains(":") || host.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
    }
}

/// Gathers one response and completes the promise with it; a connection that
/// ends first fails it.
private final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<HTTPSResponse>
    private let limit: Int
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<HTTPSResponse>, limit: Int) {
        self.promise = promise
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(let part):
            body += part.readableBytesView
            if body.count > limit {
                promise.fail(ACMEError.unexpected("an answer larger than \(limit) bytes"))
                context.close(promise: nil)
            }
        case .end:
            guard let head else { return }
            promise.succeed(HTTPSResponse(status: Int(head.status.code), headers: head.headers, body: body))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ACMEError.transport("the connection closed before a whole answer"))
        context.fireChannelInactive()
    }
}
