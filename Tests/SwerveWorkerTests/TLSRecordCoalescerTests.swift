import NIOCore
import NIOEmbedded
import SwerveWorker
import Testing

/// Small writes leave as one buffer at the flush (one TLS record), in order,
/// with every promise kept; large ones pass as they are.
@Suite struct TLSRecordCoalescerTests {
    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(TLSRecordCoalescer())
        return channel
    }

    private func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    /// What became of a write, on the embedded loop (which runs everything at once).
    private func outcome(_ promise: EventLoopPromise<Void>) -> String {
        var result = "pending"
        promise.futureResult.assumeIsolated().whenComplete {
            switch $0 {
            case .success: result = "ok"
            case .failure: result = "failed"
            }
        }
        return result
    }

    private func written(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.append(String(buffer: buffer)) }
        return out
    }

    @Test func smallWritesLeaveTogetherAtTheFlush() throws {
        let channel = try channel()
        let first = channel.eventLoop.makePromise(of: Void.self)
        let second = channel.eventLoop.makePromise(of: Void.self)
        channel.write(bytes("HEADERS"), promise: first)
        channel.write(bytes("data-header"), promise: nil)
        channel.write(bytes("payload"), promise: second)
        #expect(try written(channel).isEmpty)
        channel.flush()
        #expect(try written(channel) == ["HEADERSdata-headerpayload"])
        #expect(outcome(first) == "ok")
        #expect(outcome(second) == "ok")
        #expect(try channel.finish().isClean)
    }

    @Test func aLargeWriteFollowsWhatWasGatheredAndIsNotCopied() throws {
        let channel = try channel()
        let large = String(repeating: "x", count: TLSRecordCoalescer.recordSize)
        channel.write(bytes("small"), promise: nil)
        channel.write(bytes(large), promise: nil)
        channel.write(bytes("tail"), promise: nil)
        channel.flush()
        #expect(try written(channel) == ["small", large, "tail"])
        _ = try channel.finish()
    }

    @Test func gatheringStopsAtARecord() throws {
        let channel = try channel()
        let half = String(repeating: "a", count: TLSRecordCoalescer.recordSize / 2)
        channel.write(bytes(half), promise: nil)
        channel.write(bytes(half), promise: nil)
        channel.write(bytes("b"), promise: nil)
        channel.flush()
        #expect(try written(channel) == [half + half, "b"])
        _ = try channel.finish()
    }

    @Test func aCloseFailsWhatWasNeverFlushed() throws {
        let channel = try channel()
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.write(bytes("late"), promise: promise)
        _ = try? channel.finish()
        #expect(outcome(promise) == "failed")
    }
}
