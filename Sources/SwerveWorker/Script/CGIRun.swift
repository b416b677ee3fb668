import Glibc
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SwerveConfig

/// One script run answering one request: the request body streams to the
/// script's stdin, its stdout becomes the response as it is written, its
/// stderr becomes error-log lines, and the run ends the script's process
/// group when it overruns `timeouts.script` or the client goes away.
///
/// Event loop only (the pipes are NIO channels on the connection's loop),
/// hence `@unchecked Sendable`: NIO's channel initialisers want Sendable.
final class CGIRun: RequestBodySink, @unchecked Sendable {
    struct Settings {
        var output: ScriptRoute.Output
        /// For `output: body`, and for a CGI block without Content-Type.
        var contentType: String?
        var timeout: TimeAmount
        var logger: Logger
        /// A HEAD request: the script runs, its body is not sent (nor its length checked).
        var isHead = false
    }

    /// Above this many bytes queued towards the client (or the script's stdin)
    /// the producer is paused; below `lowWater` it resumes.
    static let highWater = 256 * 1024
    static let lowWater = 64 * 1024
    /// SIGTERM first; the group gets SIGKILL this much later.
    static let killGrace = TimeAmount.seconds(2)
    /// A stderr line longer than this is logged in pieces.
    static let maxLogLine = 4096
    /// A script still running after this gets its stderr watched by the event loop.
    static let stderrWatchDelay = TimeAmount.milliseconds(100)
    /// stderr read in one go when stdout ends, at most (then a channel takes over).
    static let maxStderrDrain = 64 * 1024

    private let scriptName: String
    private let settings: Settings
    private let response: ResponseWriter
    private let eventLoop: EventLoop
    /// Hands a local `Location` to the router (RFC 3875 §6.2.2); returns what answers it.
    private let redirect: (String) -> RequestBodySink?
    /// Releases the route's concurrency slot, once.
    private var release: (() -> Void)?

    private var pid: pid_t = 0
    private var reaper: ChildReaper?
    private var stdin: Channel?
    private var stdout: Channel?
    /// stderr's read end until it is drained or handed to a channel.
    private var stderrDescriptor: Int32 = -1
    /// A local Location, followed once the script is done (its slot free).
    private var pendingRedirect: String?
    /// What answers after an internal redirect; told when the client goes.
    private var redirectSink: RequestBodySink?
    private var stderrTimer: Scheduled<Void>?
    private var exitStatus: ChildReaper.ExitStatus?
    private var stdoutClosed = false
    private var terminated = false
    private var groupEnding = false
    private var timer: Scheduled<Void>?

    // Request body → stdin.
    private var pendingInput: [ByteBuffer] = []
    private var inputQueued = 0
    private var inputEnded = false
    /// The script closed its stdin (or died): the rest of the body is dropped.
    private var inputClosed = false
    private var readingPaused = false

    // stdout → response.
    private var parser: CGIHeaderParser?
    /// Bytes the script's Content-Length still allows.
    private var remaining: Int?
    private var outputQueued = 0
    private var outputPaused = false
    private var flushScheduled = false
    /// The response is no longer this run's: sent in full, failed, timed out or redirected.
    private var ignoreOutput = false

    // stderr → error log.
    private var stderrLine: [UInt8] = []

    init(scriptName: String, settings: Settings, response: ResponseWriter,
         redirect: @escaping (String) -> RequestBodySink?, release: @escaping () -> Void) {
        self.scriptName = scriptName
        self.settings = settings
        self.response = response
        self.eventLoop = response.eventLoop
        self.redirect = redirect
        self.release = release
        if settings.output == .cgi { parser = CGIHeaderParser() }
    }

    /// Takes over a process just spawned: watches its exit, starts the
    /// timeout, and attaches its pipes to the event loop.
    func start(_ process: CGIProcess, reaper: ChildReaper) {
        pid = process.pid
        self.reaper = reaper
        reaper.watch(pid) { [self] status in exited(status) }
        timer = eventLoop.assumeIsolated().scheduleTask(in: settings.timeout) { [self] in timedOut() }

        attach(input: process.stdout, handler: OutputHandler(run: self, stream: .stdout)) { [self] channel in
            stdout = channel
            if terminated { channel.close(promise: nil) }
        }
        // Most scripts are done within milliseconds: their stderr is read once
        // when stdout ends, without a channel of its own; a longer run gets one.
        stderrDescriptor = process.stderr
        _ = fcntl(stderrDescriptor, F_SETFL, fcntl(stderrDescriptor, F_GETFL) | O_NONBLOCK)
        stderrTimer = eventLoop.assumeIsolated().scheduleTask(in: Self.stderrWatchDelay) { [self] in watchStderr() }
        guard process.stdin >= 0 else {
            inputClosed = true  // no body: the script reads /dev/null
            return
        }
        pipeChannel(process.stdin, reading: false) { [self] result in
            switch result {
            case .success(let channel):
                stdin = channel
                if terminated || inputClosed {
                    channel.close(promise: nil)
                    return
                }
                let pending = pendingInput
                pendingInput = []
                for part in pending { writeInput(part, queued: true) }
                closeInputIfDone()
            case .failure:
                inputClosed = true
                resumeReading()
            }
        }
    }

    private func attach(input descriptor: Int32, handler: OutputHandler, then: @escaping (Channel) -> Void) {
        pipeChannel(descriptor, reading: true, handler: handler) { [self] result in
            switch result {
            case .success(let channel):
                then(channel)
            case .failure(let error):
                settings.logger.error("script \(scriptName): cannot read its output: \(error)")
                handler.closed()
            }
        }
    }

    /// One pipe end as a channel on the connection's event loop (`handler`
    /// for the read ends). On failure the descriptor is closed here, unless
    /// NIO got as far as creating the channel, which then closed it itself.
    private func pipeChannel(_ descriptor: Int32, reading: Bool, handler: OutputHandler? = nil,
                             completion: @escaping (Result<Channel, Error>) -> Void) {
        final class Created: @unchecked Sendable { var value = false }
        let created = Created()
        let bootstrap = NIOPipeBootstrap(group: eventLoop).channelInitializer { channel in
            created.value = true
            return channel.eventLoop.makeCompletedFuture {
                if let handler { try channel.pipeline.syncOperations.addHandler(handler) }
            }
        }
        let future = reading ? bootstrap.takingOwnershipOfDescriptor(input: descriptor)
                             : bootstrap.takingOwnershipOfDescriptor(output: descriptor)
        future.assumeIsolated().whenComplete { result in
            if case .failure = result, !created.value { close(descriptor) }
            completion(result)
        }
    }

    // MARK: request body → stdin

    var wantsBody: Bool { true }

    func receive(_ part: ByteBuffer) {
        guard !inputClosed, !terminated else { return }
        guard stdin != nil else {
            pendingInput.append(part)
            inputQueued += part.readableBytes
            pauseReadingIfFull()
            return
        }
        writeInput(part)
    }

    func receiveEnd() {
        inputEnded = true
        closeInputIfDone()
    }

    /// The client is gone (or the request failed): the script's group is ended.
    func abort() {
        pendingRedirect = nil
        redirectSink?.abort()
        guard !(stdoutClosed && exitStatus != nil) else { return }
        ignoreOutput = true
        terminate()
    }

    /// `queued`: the part is already counted in `inputQueued` (it waited for the pipe).
    private func writeInput(_ part: ByteBuffer, queued: Bool = false) {
        guard let stdin else { return }
        let count = part.readableBytes
        if !queued { inputQueued += count }
        stdin.writeAndFlush(part).assumeIsolated().whenComplete { [self] result in
            inputQueued -= count
            if case .failure = result, !inputClosed {
                // EPIPE: the script does not read its stdin (any more). Not an error:
                // it may answer without the body; the rest of it is discarded.
                inputClosed = true
            }
            if inputClosed || inputQueued < Self.lowWater { resumeReading() }
            closeInputIfDone()
        }
        pauseReadingIfFull()
    }

    private func closeInputIfDone() {
        guard let stdin, inputEnded || inputClosed, inputQueued == 0 || inputClosed else { return }
        // EOF on the script's stdin: the body is complete.
        self.stdin = nil
        stdin.close(promise: nil)
    }

    private func pauseReadingIfFull() {
        guard !readingPaused, inputQueued > Self.highWater else { return }
        readingPaused = true
        response.pauseReading()
    }

    private func resumeReading() {
        guard readingPaused else { return }
        readingPaused = false
        response.resumeReading()
    }

    // MARK: stdout → response

    fileprivate func stdoutRead(_ buffer: ByteBuffer) {
        guard !ignoreOutput else { return }
        guard parser != nil else {
            if !response.headSent { sendBodyOutputHead() }
            forward(buffer)
            return
        }
        switch parser!.feed(buffer) {
        case .needMore:
            break
        case .malformed(let reason):
            parser = nil
            badGateway("malformed header block: \(reason)")
        case .head(let head, let body):
            parser = nil
            switch head.kind {
            case .localRedirect(let location):
                // Followed when this script is done, so that its slot is free for the next.
                ignoreOutput = true
                pendingRedirect = location
            case .document:
                sendHead(head)
                if body.readableBytes > 0 { forward(body) }
            }
        }
    }

    fileprivate func stdoutEnded() {
        stdoutClosed = true
        defer {
            drainStderr()
            // A script's stdout closes when it exits, in practice: reap it now
            // (after the output is settled, since the exit can be reported at once).
            reaper?.reap(pid)
            finishIfDone()
        }
        guard !ignoreOutput else { return }
        if parser != nil, case .malformed(let reason) = parser!.end() {
            parser = nil
            badGateway("malformed header block: \(reason)")
            return
        }
        // `output: body` with nothing written: whether that is an empty page or
        // a failure depends on the exit status, which `exited` decides.
        guard response.headSent else { return }
        ignoreOutput = true
        if let remaining, remaining > 0 {
            settings.logger.error("script \(scriptName): output ended \(remaining) bytes short of its Content-Length")
            response.sendError(.badGateway)  // the head is out: this closes the connection
            return
        }
        response.end()
    }

    private func sendBodyOutputHead() {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: settings.contentType ?? "text/html; charset=utf-8")
        response.sendHead(.ok, headers: headers)
    }

    private func sendHead(_ head: CGIResponseHead) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 1)
        for (name, value) in head.headers { headers.add(name: name, value: value) }
        if let contentType = settings.contentType, !headers.contains(name: "content-type"),
           HTTPResponseStatus(statusCode: head.status).mayHaveResponseBody {
            headers.add(name: "Content-Type", value: contentType)
        }
        let status = head.reason.map { HTTPResponseStatus(statusCode: head.status, reasonPhrase: $0) }
            ?? HTTPResponseStatus(statusCode: head.status)
        if settings.isHead {
            remaining = nil  // nothing is sent; a Content-Length describes the GET
        } else if !status.mayHaveResponseBody {
            remaining = 0  // 204, 304: any output would be read as the next response
        } else {
            remaining = head.contentLength
        }
        response.sendHead(status, headers: headers)
    }

    private func forward(_ buffer: ByteBuffer) {
        var buffer = buffer
        if let left = remaining {
            // Past its Content-Length a script's output is not sent (it would corrupt the next response).
            if buffer.readableBytes > left { buffer = buffer.getSlice(at: buffer.readerIndex, length: left)! }
            remaining = left - buffer.readableBytes
        }
        let count = buffer.readableBytes
        guard count > 0 else { return }
        outputQueued += count
        scheduleFlush()
        response.streamBody(buffer, flush: false) { [self] _ in
            outputQueued -= count
            if outputPaused && outputQueued < Self.lowWater {
                outputPaused = false
                stdout?.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                stdout?.read()
            }
        }
        if !outputPaused && outputQueued > Self.highWater, let stdout {
            // The client reads slower than the script writes: let the pipe fill, the script blocks.
            outputPaused = true
            stdout.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
    }

    /// Output is flushed once the event loop is done with the current events,
    /// not per read: a script that writes and exits at once has its last bytes
    /// and the end of the response leave in one segment.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute { [self] in
            flushScheduled = false
            response.flush()
        }
    }

    private func badGateway(_ reason: String) {
        ignoreOutput = true
        settings.logger.error("script \(scriptName): \(reason)")
        response.sendError(.badGateway)
    }

    // MARK: stderr → error log

    fileprivate func stderrRead(_ buffer: ByteBuffer) {
        for byte in buffer.readableBytesView {
            if byte == UInt8(ascii: "\n") {
                logStderrLine()
            } else {
                stderrLine.append(byte)
                if stderrLine.count >= Self.maxLogLine { logStderrLine() }
            }
        }
    }

    fileprivate func stderrEnded() {
        if !stderrLine.isEmpty { logStderrLine() }
    }

    /// Reads what the script wrote to stderr so far; at EOF that is all of it,
    /// else (something still holds it open) a channel takes over.
    private func drainStderr() {
        guard stderrDescriptor >= 0 else { return }
        var buffer = response.allocator.buffer(capacity: 4096)
        var drained = 0
        while true {
            // Bounded: a writer that keeps the pipe full gets a channel instead of the loop.
            guard drained < Self.maxStderrDrain else {
                watchStderr()
                return
            }
            buffer.clear()
            var result = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 4096) { raw in
                result = read(stderrDescriptor, raw.baseAddress, raw.count)
                return max(0, result)
            }
            if result > 0 {
                drained += result
                stderrRead(buffer)
                continue
            }
            if result < 0 && errno == EINTR { continue }
            if result < 0 && errno == EAGAIN {
                watchStderr()
            } else {
                close(stderrDescriptor)
                stderrDescriptor = -1
                stderrTimer?.cancel()
                stderrTimer = nil
                stderrEnded()
            }
            return
        }
    }

    /// Hands stderr to a channel on the event loop (a script that runs a while).
    private func watchStderr() {
        stderrTimer = nil
        guard stderrDescriptor >= 0 else { return }
        let descriptor = stderrDescriptor
        stderrDescriptor = -1
        // The channel closes itself at EOF, which ending the script's group brings.
        attach(input: descriptor, handler: OutputHandler(run: self, stream: .stderr)) { _ in }
    }

    private func logStderrLine() {
        if stderrLine.last == UInt8(ascii: "\r") { stderrLine.removeLast() }
        let line = String(decoding: stderrLine, as: UTF8.self)
        stderrLine.removeAll(keepingCapacity: true)
        settings.logger.error("script \(scriptName): \(line)")
    }

    // MARK: the process

    private func exited(_ status: ChildReaper.ExitStatus) {
        exitStatus = status
        defer { finishIfDone() }
        if !status.isSuccess && !terminated {
            settings.logger.warning("script \(scriptName) ended with \(status)")
        }
        inputClosed = true
        closeInputIfDone()
        resumeReading()
        // `output: body` that wrote nothing: an empty page, unless the script failed.
        if settings.output == .body && stdoutClosed && !ignoreOutput && !response.headSent {
            ignoreOutput = true
            if status.isSuccess {
                sendBodyOutputHead()
                response.end()
            } else {
                response.sendError(.badGateway)
            }
        }
    }

    private func timedOut() {
        timer = nil
        guard exitStatus == nil || !stdoutClosed else { return }
        settings.logger.error("script \(scriptName) timed out after \(settings.timeout.nanoseconds / 1_000_000_000)s")
        let answers = !ignoreOutput
        ignoreOutput = true  // before terminate: closing stdout must not read as a short header block
        terminate()
        // 504 when nothing was sent yet; else the connection closes (the body is cut short).
        if answers { response.sendError(.gatewayTimeout) }
    }

    /// SIGTERM to the script's group, SIGKILL two seconds later to whatever
    /// is left of it (a child that ignores TERM, or one that outlived the script).
    private func terminate() {
        guard !terminated else { return }
        terminated = true
        endGroup()
        reaper?.reap(pid)
        stdout?.close(promise: nil)
        stdin?.close(promise: nil)
        stdin = nil
        pendingInput = []
        inputClosed = true
        resumeReading()
    }

    /// SIGTERM to what is left of the script's process group, SIGKILL two
    /// seconds later; the reaper forgets the group once it is empty.
    private func endGroup() {
        guard !groupEnding else { return }
        groupEnding = true
        guard CGIProcess.groupExists(pid) else {
            reaper?.groupGone(pid)
            return
        }
        CGIProcess.signalGroup(pid, SIGTERM)
        let pid = pid, reaper = reaper
        eventLoop.assumeIsolated().scheduleTask(in: Self.killGrace) {
            if CGIProcess.groupExists(pid) { CGIProcess.signalGroup(pid, SIGKILL) }
            reaper?.groupGone(pid)
        }
    }

    /// The run is over once the script exited and its stdout closed: its slot
    /// frees up, anything it left running in its group is ended (a CGI request
    /// owns its processes, as in Apache), and a local redirect is followed.
    private func finishIfDone() {
        guard exitStatus != nil, stdoutClosed, let release else { return }
        self.release = nil
        timer?.cancel()
        timer = nil
        release()
        endGroup()
        if let location = pendingRedirect {
            pendingRedirect = nil
            redirectSink = redirect(location)
        }
    }

    // MARK: pipe handlers

    fileprivate final class OutputHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        enum Stream { case stdout, stderr }

        private var run: CGIRun?
        private let stream: Stream

        init(run: CGIRun, stream: Stream) {
            self.run = run
            self.stream = stream
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            switch stream {
            case .stdout: run?.stdoutRead(buffer)
            case .stderr: run?.stderrRead(buffer)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }

        /// The pipe ended (EOF, error or closed by us): reported once, then the run is let go.
        func closed() {
            guard let run else { return }
            self.run = nil
            switch stream {
            case .stdout: run.stdoutEnded()
            case .stderr: run.stderrEnded()
            }
        }
    }
}
