import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import SwerveConfig
import SwerveWorker
import Testing

/// The real HTTP/2 server pipeline (NIOHTTP2Handler → HTTP2Connection) on an
/// EmbeddedChannel, talking to NIOHTTP2's own client handler on another;
/// bytes are carried between the two by hand, and the clock is the
/// embedded loop's. Cases where a stream's end and its responder's late
/// answer cross, which the integration tests cannot time.
@Suite final class HTTP2ConnectionTests {
    static let listener = ListenAddress(host: "127.0.0.1", port: 8443, family: .ipv4)

    let loop = EmbeddedEventLoop()
    let server: EmbeddedChannel
    let client: EmbeddedChannel
    let responder = ScriptedResponder()
    let worker: WorkerContext
    let accessLogPath = FileManager.default.temporaryDirectory.path + "/swerve-h2-access-\(UUID().uuidString).log"
    let accessLog: AccessLog

    convenience init() throws { try self.init(keepalive: 15) }

    /// `keepalive`: `timeouts.keepalive`, the idle timeout, in seconds.
    init(keepalive: Int64) throws {
        accessLog = AccessLog(file: try LogFile(path: accessLogPath, descriptor: -1), format: .combined)
        server = EmbeddedChannel(loop: loop)
        client = EmbeddedChannel(loop: loop)
        worker = embeddedWorker(loop: loop, listener: Self.listener, responder: responder, accessLog: accessLog) { config in
            config.server.timeouts.keepalive = .seconds(keepalive)
        }
        // Connected first: HTTP/2 is added to a channel whose handshake completed.
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try HTTP2Pipeline.configure(server, worker: worker, listener: Self.listener, tls: ConnectionTLS())
        // The client sends what the test writes, malformed or not.
        var clientConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        clientConfiguration.headerBlockValidation = .disabled
        try client.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client, connectionConfiguration: clientConfiguration,
                                                                      streamConfiguration: .init()))
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8443)).wait()
        try exchange()
    }

    deinit { try? FileManager.default.removeItem(atPath: accessLogPath) }

    /// The access log's lines so far.
    private func accessLines() -> [Substring] {
        accessLog.flush()
        let text = (try? String(contentsOfFile: accessLogPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n")
    }

    /// Carries bytes both ways until neither side has more to say.
    private func exchange() throws {
        for _ in 0..<20 {
            var moved = false
            // As a socket read does: the bytes, then the read's end, where
            // NIOHTTP2 sends what was written during it.
            while let data = try client.readOutbound(as: ByteBuffer.self) {
                try server.writeInbound(data)
                server.pipeline.fireChannelReadComplete()
                moved = true
            }
            while let data = try server.readOutbound(as: IOData.self) {
                guard case .byteBuffer(let buffer) = data else { continue }
                try client.writeInbound(buffer)
                client.pipeline.fireChannelReadComplete()
                moved = true
            }
            if !moved { return }
        }
    }

    /// Frames the client received and the test has not looked at yet.
    private var received: [HTTP2Frame] = []

    private func collect() throws {
        while let frame = try client.readInbound(as: HTTP2Frame.self) { received.append(frame) }
    }

    /// The frames the client received on streams since the last call.
    private func streamFrames() throws -> [HTTP2Frame] {
        try collect()
        let frames = received.filter { $0.streamID != .rootStream }
        received.removeAll { $0.streamID != .rootStream }
        return frames
    }

    /// The GOAWAYs the client received since the last call: last stream ID and code.
    private func goAways() throws -> [(last: HTTP2StreamID, code: HTTP2ErrorCode)] {
        try collect()
        var found: [(last: HTTP2StreamID, code: HTTP2ErrorCode)] = []
        received.removeAll { frame in
            guard case .goAway(let last, let code, _) = frame.payload else { return false }
            found.append((last, code))
            return true
        }
        return found
    }

    private func request(_ path: String, on id: Int, extra: [(String, String)] = []) throws {
        let headers = HPACKHeaders([(":method", "GET"), (":scheme", "https"), (":authority", "a.test"), (":path", path)] + extra)
        client.writeAndFlush(HTTP2Frame(streamID: HTTP2StreamID(id), payload: .headers(.init(headers: headers, endStream: true))),
                             promise: nil)
        try exchange()
    }

    private func reset(_ id: Int) throws {
        client.writeAndFlush(HTTP2Frame(streamID: HTTP2StreamID(id), payload: .rstStream(.cancel)), promise: nil)
        try exchange()
    }

    private func summary(_ frames: [HTTP2Frame]) -> [String] {
        frames.map { frame in
            switch frame.payload {
            case .headers(let headers): return "HEADERS \(headers.headers.first(name: ":status") ?? "")\(headers.endStream ? " END" : "")"
            case .data(let data): return "DATA\(data.endStream ? " END" : "")"
            case .rstStream(let code): return "RST \(code)"
            default: return "other"
            }
        }
    }

    @Test func aRequestIsAnsweredOnItsStream() throws {
        try request("/now", on: 1)
        let frames = try streamFrames()
        #expect(summary(frames) == ["HEADERS 200", "DATA", "DATA END"])
        #expect(frames.allSatisfy { $0.streamID == 1 })
    }

    @Test func aLateAnswerAfterTheClientsResetSendsNothing() throws {
        try request("/later", on: 1)
        #expect(try streamFrames().isEmpty)
        try reset(1)
        #expect(responder.aborted == 1, "the responder learns the client left")
        // The responder answers anyway, late: nothing goes out on a closed
        // stream, and no RST_STREAM answers the client's (RFC 9113 §5.4.2).
        responder.pending.removeFirst().send(.ok, body: ByteBuffer(string: "late"))
        loop.run()
        try exchange()
        #expect(try streamFrames().isEmpty)
        #expect(server.isActive && responder.aborted == 1)
        // The connection still serves, and each request has one access-log line.
        try request("/now", on: 3)
        #expect(summary(try streamFrames()) == ["HEADERS 200", "DATA", "DATA END"])
        let lines = accessLines()
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.contains("\"GET /later HTTP/2.0\" 499 ") == true, "\(lines)")
    }

    @Test func aLateAbortAfterTheClientsResetSendsNoReset() throws {
        try request("/later", on: 1)
        try reset(1)
        let late = responder.pending.removeFirst()
        late.abort()
        loop.run()
        try exchange()
        #expect(try streamFrames().isEmpty)
        #expect(server.isActive)
    }

    @Test func anIdleConnectionIsToldGoAwayAndClosedAfterTheKeepaliveTimeout() throws {
        let idle = try HTTP2ConnectionTests(keepalive: 3)
        try idle.request("/now", on: 1)
        #expect(try idle.streamFrames().count == 3)
        idle.loop.advanceTime(by: .seconds(2))
        try idle.exchange()
        #expect(try idle.goAways().isEmpty && idle.server.isActive, "not idle for long enough yet")
        idle.loop.advanceTime(by: .seconds(2))
        try idle.exchange()
        let goAways = try idle.goAways()
        #expect(goAways.map(\.code) == [.noError] && goAways.first?.last == 1, "\(goAways)")
        idle.loop.advanceTime(by: .seconds(1))
        try idle.exchange()
        #expect(!idle.server.isActive)
    }

    @Test func aRequestTheLibraryRefusesLeavesTheIdleTimeoutWorking() throws {
        // Two :path fields make a malformed request (RFC 9113 §8.3.1): the
        // library resets that stream, and its close must not unbalance the
        // count of open streams, or the idle timeout never runs again.
        let refused = try HTTP2ConnectionTests(keepalive: 3)
        try refused.request("/now", on: 1, extra: [(":path", "/now")])
        let frames = refused.summary(try refused.streamFrames())
        #expect(frames == ["RST \(HTTP2ErrorCode.protocolError)"], "\(frames)")
        try refused.request("/now", on: 3)
        #expect(refused.summary(try refused.streamFrames()) == ["HEADERS 200", "DATA", "DATA END"])
        refused.loop.advanceTime(by: .seconds(4))
        try refused.exchange()
        #expect(try refused.goAways().map(\.code) == [.noError])
    }

    @Test func aStreamUnderWayHoldsOffTheIdleTimeout() throws {
        let busy = try HTTP2ConnectionTests(keepalive: 3)
        try busy.request("/later", on: 1)
        busy.loop.advanceTime(by: .seconds(5))
        try busy.exchange()
        #expect(try busy.goAways().isEmpty && busy.server.isActive)
        // Once it ends, the idle clock starts.
        busy.responder.pending.removeFirst().send(.ok, body: ByteBuffer(string: "done"))
        busy.loop.run()
        try busy.exchange()
        #expect(try busy.streamFrames().last.map { busy.summary([$0]) } == ["DATA END"])
        busy.loop.advanceTime(by: .seconds(4))
        try busy.exchange()
        #expect(try busy.goAways().map(\.code) == [.noError])
    }

    @Test func aDrainAnswersTheStreamUnderWayFirstThenSendsGoAwayAndCloses() throws {
        try request("/later", on: 1)
        _ = worker.drain()
        loop.run()
        try exchange()
        // A client waiting for its one answer gets it before the GOAWAY (curl 7.88 drops the answer otherwise).
        #expect(try goAways().isEmpty && server.isActive)
        responder.pending.removeFirst().send(.ok, body: ByteBuffer(string: "done"))
        loop.run()
        try exchange()
        #expect(summary(try streamFrames()) == ["HEADERS 200", "DATA", "DATA END"])
        let goAways = try goAways()
        #expect(goAways.last?.last == 1 && goAways.allSatisfy { $0.code == .noError }, "\(goAways)")
        loop.run()
        try exchange()
        #expect(!server.isActive)
    }

    @Test func aDrainPastItsGraceSendsGoAwayAndStillFinishesTheStream() throws {
        try request("/later", on: 1)
        _ = worker.drain()
        loop.advanceTime(by: .seconds(1))
        try exchange()
        // NIO's management handler: GOAWAY with the highest ID, a PING round
        // trip, then GOAWAY with the last stream accepted.
        let goAways = try goAways()
        #expect(goAways.last?.last == 1 && goAways.allSatisfy { $0.code == .noError }, "\(goAways)")
        #expect(server.isActive, "stream 1 is still under way")
        responder.pending.removeFirst().send(.ok, body: ByteBuffer(string: "done"))
        loop.run()
        try exchange()
        #expect(summary(try streamFrames()) == ["HEADERS 200", "DATA", "DATA END"])
        loop.run()
        try exchange()
        #expect(!server.isActive)
    }

    @Test func anAbortBeforeTheEndResetsTheStreamOnce() throws {
        try request("/later", on: 1)
        let response = responder.pending.removeFirst()
        response.sendHead(.ok, headers: [:])
        response.abort()
        response.abort()
        loop.run()
        try exchange()
        let frames = try streamFrames()
        #expect(summary(frames).filter { $0.hasPrefix("RST") }.count == 1, "\(summary(frames))")
        #expect(server.isActive)
    }
}
