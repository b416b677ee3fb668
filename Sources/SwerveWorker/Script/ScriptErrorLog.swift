import Glibc
import Logging
import NIOCore

/// A script's stderr as error-log lines ("script NAME: …", long lines in
/// pieces). Most scripts are done within milliseconds: their stderr is read
/// once when stdout ends, without a channel of its own; one that runs
/// longer gets a channel. Event loop only.
final class ScriptErrorLog {
    /// A line longer than this is logged in pieces.
    static let maxLine = 4096
    /// A script still running after this gets its stderr watched by the event loop.
    static let watchDelay = TimeAmount.milliseconds(100)
    /// Read in one go when stdout ends, at most (then a channel takes over).
    static let maxDrain = 64 * 1024

    private let scriptName: String
    private let logger: Logger
    private let eventLoop: EventLoop
    /// The read end, until it is drained or handed to a channel.
    private var descriptor: Int32
    private var watchTimer: Scheduled<Void>?
    private var line: [UInt8] = []

    init(_ descriptor: Int32, scriptName: String, logger: Logger, eventLoop: EventLoop) {
        self.descriptor = descriptor
        self.scriptName = scriptName
        self.logger = logger
        self.eventLoop = eventLoop
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        watchTimer = eventLoop.assumeIsolated().scheduleTask(in: Self.watchDelay) { [self] in watch() }
    }

    /// Reads what the script wrote so far; at EOF that is all of it, else
    /// (something still holds it open) a channel takes over.
    func drain() {
        guard descriptor >= 0 else { return }
        var buffer = ByteBufferAllocator().buffer(capacity: 4096)
        var drained = 0
        while true {
            // Bounded: a writer that keeps the pipe full gets a channel instead of the loop.
            guard drained < Self.maxDrain else { return watch() }
            buffer.clear()
            var result = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 4096) { raw in
                result = read(descriptor, raw.baseAddress, raw.count)
                return max(0, result)
            }
            if result > 0 {
                drained += result
                append(buffer)
                continue
            }
            if result < 0 && errno == EINTR { continue }
            if result < 0 && errno == EAGAIN { return watch() }
            close(descriptor)
            descriptor = -1
            watchTimer?.cancel()
            watchTimer = nil
            ended()
            return
        }
    }

    /// Hands stderr to a channel on the event loop (a script that runs a while).
    private func watch() {
        watchTimer = nil
        guard descriptor >= 0 else { return }
        let descriptor = self.descriptor
        self.descriptor = -1
        // The channel closes itself at EOF, which ending the script's group brings.
        let reader = PipeReader(onRead: { [self] in append($0) }, onEnd: { [self] in ended() })
        PipeChannel.open(descriptor, reading: true, reader: reader, on: eventLoop) { [self] result in
            if case .failure(let error) = result {
                logger.error("script \(scriptName): cannot read its stderr: \(error)")
                reader.ended()
            }
        }
    }

    private func append(_ buffer: ByteBuffer) {
        for byte in buffer.readableBytesView {
            if byte == UInt8(ascii: "\n") {
                logLine()
            } else {
                line.append(byte)
                if line.count >= Self.maxLine { logLine() }
            }
        }
    }

    private func ended() {
        if !line.isEmpty { logLine() }
    }

    private func logLine() {
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        let text = String(decoding: line, as: UTF8.self)
        line.removeAll(keepingCapacity: true)
        logger.error("script \(scriptName): \(text)")
    }
}
