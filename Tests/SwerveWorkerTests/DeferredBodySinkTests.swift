import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import SwerveWorker
import Testing

/// A body held while a script route decides, then handed to the script's sink.
@Suite struct DeferredBodySinkTests {
    /// A transport that, like an HTTP/2 stream, hands over the DATA it held
    /// the moment reading resumes, synchronously.
    final class ResumingTransport: ResponseTransport {
        var onResume: () -> Void = {}
        var isActive: Bool { true }
        var fileReader: NonBlockingFileIO? { nil }
        func writeHead(_ response: ResponseWriter, status: HTTPResponseStatus, headers: HTTPHeaders) {}
        func writePrepared(_ response: ResponseWriter, status: HTTPResponseStatus, headers: [PreparedHeaders], body: ByteBuffer) {}
        func writeBody(_ response: ResponseWriter, _ data: IOData, flush: Bool, promise: EventLoopPromise<Void>?) {}
        func flush() {}
        func writeEnd(_ response: ResponseWriter) {}
        func abort(_ response: ResponseWriter) {}
        func setReading(_ enabled: Bool) { if enabled { onResume() } }
        func sendContinue(_ response: ResponseWriter) {}
        func cork(_ enabled: Bool) {}
    }

    final class Recorder: RequestBodySink {
        var parts: [String] = []
        var ended = false
        var wantsBody: Bool { true }
        func receive(_ part: ByteBuffer) { parts.append(String(buffer: part).prefix(1).description) }
        func receiveEnd() { ended = true }
        func abort() {}
    }

    @Test func whatArrivesAsReadingResumesComesAfterWhatWasHeld() {
        let loop = EmbeddedEventLoop()
        let transport = ResumingTransport()
        let response = ResponseWriter(transport: transport, eventLoop: loop, allocator: ByteBufferAllocator(),
                                      isHead: false, started: loop.now)
        let deferred = DeferredBodySink(response: response)
        // Enough held to pause reading (the pipe's high watermark is 256 KiB).
        for name in ["a", "b", "c"] { deferred.receive(ByteBuffer(string: name + String(repeating: ".", count: 100 << 10))) }
        var resumed = false
        transport.onResume = {
            guard !resumed else { return }
            resumed = true
            deferred.receive(ByteBuffer(string: "d"))
            deferred.receiveEnd()
        }
        let script = Recorder()
        deferred.forward(to: script)
        #expect(resumed, "forwarding resumes reading")
        #expect(script.parts == ["a", "b", "c", "d"])
        #expect(script.ended)
    }
}
