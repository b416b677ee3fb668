import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import SwerveConfig
import SwerveWorker
import Testing

/// The real connection pipeline (decoder → HTTP1Connection) on an
/// EmbeddedChannel, its clock the embedded loop's: bytes in, bytes out.
@Suite struct HTTP1ConnectionTests {
    static let listener = ListenAddress(host: "127.0.0.1", port: 8080, family: .ipv4)

    let loop = EmbeddedEventLoop()
    let channel: EmbeddedChannel
    let responder = ScriptedResponder()
    let worker: WorkerContext

    init() throws {
        channel = EmbeddedChannel(loop: loop)
        worker = embeddedWorker(loop: loop, listener: Self.listener, responder: responder) { config in
            config.server.timeouts.header = .seconds(10)
            config.server.timeouts.keepalive = .seconds(15)
        }
        try ServerPipeline.configure(channel, worker: worker, listener: Self.listener)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    private func send(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// Everything written so far, as text.
    private func output() throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
        }
        return text
    }

    /// The status lines in `text` (a body may run straight into the next response).
    private func statuses(_ text: String) -> [String] {
        text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { "HTTP/1.1 " + ($0.components(separatedBy: "\r\n").first ?? "") }
    }

    @Test func aSmallResponseLeavesInOneWriteWithItsHead() throws {
        try send("GET /now HTTP/1.1\r\nHost: a.test\r\n\r\n")
        var writes: [String] = []
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data, buffer.readableBytes > 0 { writes.append(String(buffer: buffer)) }
        }
        #expect(writes.count == 1)
        let response = try #require(writes.first)
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("\r\nContent-Length: 3\r\n") && response.contains("\r\nServer: swerve\r\n"))
        #expect(response.contains("\r\nDate: ") && !response.contains("Connection:"))
        #expect(response.hasSuffix("\r\n\r\nnow"))
        #expect(channel.isActive)
    }

    @Test func pipelinedResponsesKeepTheOrderOfTheirRequests() throws {
        try send("GET /later HTTP/1.1\r\nHost: a.test\r\n\r\nGET /now HTTP/1.1\r\nHost: a.test\r\n\r\n")
        #expect(try output().isEmpty, "the second waits for the first")
        responder.pending.removeFirst().send(.ok, body: ByteBuffer(string: "later"))
        let text = try output()
        #expect(statuses(text).count == 2)
        let later = try #require(text.range(of: "later")), now = try #require(text.range(of: "\r\n\r\nnow"))
        #expect(later.lowerBound < now.lowerBound)
    }

    @Test func aChunkedResponseIsFramed() throws {
        try send("GET /later HTTP/1.1\r\nHost: a.test\r\n\r\n")
        let response = responder.pending.removeFirst()
        response.sendHead(.ok, headers: [:])
        response.streamBody(ByteBuffer(string: "abc")) { _ in }
        response.end()
        let text = try output()
        #expect(text.contains("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
    }

    @Test func theHeaderTimeoutClosesAFreshConnectionAndAnswers408ToAPartialHead() throws {
        loop.advanceTime(by: .seconds(10))
        #expect(!channel.isActive, "a connection that never spoke")

        let other = try HTTP1ConnectionTests()
        try other.send("GET /now HTTP/1.1\r\n")
        other.loop.advanceTime(by: .seconds(9))
        #expect(try other.output().isEmpty)
        other.loop.advanceTime(by: .seconds(1))
        #expect(try other.statuses(other.output()) == ["HTTP/1.1 408 Request Timeout"])
        #expect(!other.channel.isActive)
    }

    @Test func keepAliveThenTheKeepAliveTimeout() throws {
        try send("GET /now HTTP/1.1\r\nHost: a.test\r\n\r\n")
        _ = try output()
        loop.advanceTime(by: .seconds(14))
        try send("GET /now HTTP/1.1\r\nHost: a.test\r\n\r\n")
        #expect(try statuses(output()) == ["HTTP/1.1 200 OK"])
        loop.advanceTime(by: .seconds(15))
        #expect(!channel.isActive)
    }

    @Test func aDrainClosesAnIdleConnectionAndAnswersTheRequestUnderWayWithClose() throws {
        try send("GET /later HTTP/1.1\r\nHost: a.test\r\n\r\n")
        let drained = worker.drain()
        #expect(channel.isActive, "a request is under way")
        responder.pending.removeFirst().send(.ok, body: ByteBuffer(string: "x"))
        #expect(try output().contains("Connection: close\r\n"))
        #expect(!channel.isActive)
        loop.run()
        #expect(throws: Never.self) { try drained.wait() }
    }

    @Test func aFinDuringARequestLetsItsResponderGo() throws {
        try send("GET /later HTTP/1.1\r\nHost: a.test\r\n\r\n")
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(responder.aborted == 1)
        #expect(!channel.isActive)
    }

    @Test func refusalsKeepTheirStatuses() throws {
        for (request, status) in [
            ("GET /now HTTP/1.1\r\n\r\n", "400 Bad Request"),  // no Host
            ("GET /now HTTP/2.0\r\nHost: a.test\r\n\r\n", "505 HTTP Version Not Supported"),
            ("POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5000\r\n\r\n", "413 Payload Too Large"),
            ("POST /echo HTTP/1.1\r\nHost: a.test\r\nExpect: tea\r\nContent-Length: 1\r\n\r\n", "417 Expectation Failed"),
            ("POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "400 Bad Request"),
            ("GARBAGE\r\n\r\n", "400 Bad Request"),
        ] {
            let fresh = try HTTP1ConnectionTests()
            try fresh.send(request)
            let text = try fresh.output()
            #expect(fresh.statuses(text) == ["HTTP/1.1 " + status], "\(request): \(text.prefix(60))")
        }
    }

    @Test func aBodyIsReadAndAnsweredAfterOneHundredContinue() throws {
        try send("POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        #expect(try output() == "HTTP/1.1 100 Continue\r\n\r\n")
        try send("hello")
        let text = try output()
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n") && text.hasSuffix("got 5"))
    }
}
