import Glibc
import Logging
import NIOCore
import SwerveConfig

/// One script run answering one request. Its life is one enum; three small
/// parts do the streaming: `ScriptInput` (request body → stdin),
/// `ScriptOutput` (stdout → response) and `ScriptErrorLog` (stderr → error
/// log). The run ends the script's process group when it overruns
/// `timeouts.script` or the client goes away, and — a CGI request owns its
/// processes, as in Apache — when the script is done.
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

    /// The run's life. It is over when both the exit status and the end of
    /// stdout are in (either may come first: a child the script started can
    /// hold stdout open after the script exited).
    enum Lifecycle: Equatable {
        /// Spawned: its pipes are attached and its timeout runs.
        case running(exit: ChildReaper.ExitStatus?, outputEnded: Bool)
        /// Ended by us (timed out, client gone): its group has had SIGTERM
        /// (SIGKILL follows); the exit and the end of stdout are awaited.
        case terminating(exit: ChildReaper.ExitStatus?, outputEnded: Bool)
        /// Exit and end of stdout are in: the route's slot is free, the group
        /// ended, a local redirect followed.
        case finished
    }

    /// SIGTERM first; the group gets SIGKILL this much later.
    static let killGrace = TimeAmount.seconds(2)

    private(set) var lifecycle = Lifecycle.running(exit: nil, outputEnded: false)
    private let scriptName: String
    private let settings: Settings
    private let eventLoop: EventLoop
    private let input: ScriptInput
    private var output: ScriptOutput!
    /// Hands a local `Location` to the router (RFC 3875 §6.2.2); returns what answers it.
    private let redirect: (String) -> RequestBodySink?
    /// Releases the route's concurrency slot.
    private let release: () -> Void

    private var pid: pid_t = 0
    private var reaper: ChildReaper?
    private var stdout: Channel?
    private var errorLog: ScriptErrorLog?
    private var timeout: Scheduled<Void>?
    /// A local Location, followed once the script is done (its slot free).
    private var pendingRedirect: String?
    /// What answers after an internal redirect; told when the client goes.
    private var redirectSink: RequestBodySink?

    init(scriptName: String, settings: Settings, response: ResponseWriter,
         redirect: @escaping (String) -> RequestBodySink?, release: @escaping () -> Void) {
        self.scriptName = scriptName
        self.settings = settings
        self.eventLoop = response.eventLoop
        self.redirect = redirect
        self.release = release
        input = ScriptInput(response: response)
        output = ScriptOutput(scriptName: scriptName, settings: settings, response: response) { [unowned self] location in
            pendingRedirect = location  // followed when this script is done, so that its slot is free
        }
    }

    /// Takes over a process just spawned: watches its exit, starts the
    /// timeout, and attaches its pipes to the event loop.
    func start(_ process: CGIProcess, reaper: ChildReaper) {
        pid = process.pid
        self.reaper = reaper
        reaper.watch(pid) { [self] status in exited(status) }
        timeout = eventLoop.assumeIsolated().scheduleTask(in: settings.timeout) { [self] in timedOut() }
        let reader = PipeReader(onRead: { [self] in output.read($0) }, onEnd: { [self] in outputEnded() })
        PipeChannel.open(process.stdout, reading: true, reader: reader, on: eventLoop) { [self] result in
            switch result {
            case .success(let channel):
                stdout = channel
                output.stdout = channel
                if case .terminating = lifecycle { channel.close(promise: nil) }
            case .failure(let error):
                settings.logger.error("script \(scriptName): cannot read its output: \(error)")
                reader.ended()
            }
        }
        errorLog = ScriptErrorLog(process.stderr, scriptName: scriptName, logger: settings.logger, eventLoop: eventLoop)
        input.attach(process.stdin, on: eventLoop)
    }

    // MARK: the request (RequestBodySink)

    var wantsBody: Bool { true }

    func receive(_ part: ByteBuffer) {
        input.receive(part)
    }

    func receiveEnd() {
        input.receiveEnd()
    }

    /// The client is gone (or the request failed): the script's group is ended.
    func abort() {
        pendingRedirect = nil
        redirectSink?.abort()
        guard lifecycle != .finished else { return }
        output.stop()
        terminate()
    }

    // MARK: events

    private func outputEnded() {
        output.ended()
        errorLog?.drain()
        switch lifecycle {
        case .running(let exit, _): lifecycle = .running(exit: exit, outputEnded: true)
        case .terminating(let exit, _): lifecycle = .terminating(exit: exit, outputEnded: true)
        case .finished: return
        }
        // A script's stdout closes when it exits, in practice: reap it now
        // (after the output is settled, since the exit can be reported at once).
        reaper?.reap(pid)
        finishIfDone()
    }

    private func exited(_ status: ChildReaper.ExitStatus) {
        input.close()
        switch lifecycle {
        case .running(_, let outputEnded):
            if !status.isSuccess { settings.logger.warning("script \(scriptName) ended with \(status)") }
            lifecycle = .running(exit: status, outputEnded: outputEnded)
        case .terminating(_, let outputEnded):
            lifecycle = .terminating(exit: status, outputEnded: outputEnded)
        case .finished:
            return
        }
        finishIfDone()
    }

    private func timedOut() {
        timeout = nil
        guard case .running = lifecycle else { return }  // ended by us already: nothing timed out
        settings.logger.error("script \(scriptName) timed out after \(settings.timeout.nanoseconds / 1_000_000_000)s")
        let answers = output.answers
        output.stop()  // before terminate: closing stdout must not read as a short header block
        terminate()
        // 504 when nothing was sent yet; else the connection closes (the body is cut short).
        if answers { output.response.sendError(.gatewayTimeout) }
    }

    /// SIGTERM to the script's group, SIGKILL two seconds later to whatever
    /// is left of it (a child that ignores TERM, or one that outlived the script).
    private func terminate() {
        guard case .running(let exit, let outputEnded) = lifecycle else { return }
        lifecycle = .terminating(exit: exit, outputEnded: outputEnded)
        endGroup()
        reaper?.reap(pid)
        stdout?.close(promise: nil)
        input.close()
    }

    /// The run is over once the script exited and its stdout closed.
    private func finishIfDone() {
        let wasTerminating: Bool
        let exit: ChildReaper.ExitStatus
        switch lifecycle {
        case .running(let status?, true): (wasTerminating, exit) = (false, status)
        case .terminating(let status?, true): (wasTerminating, exit) = (true, status)
        default: return
        }
        lifecycle = .finished
        timeout?.cancel()
        timeout = nil
        output.settle(exit: exit)
        release()
        if !wasTerminating { endGroup() }  // terminating ended it already
        if let location = pendingRedirect {
            pendingRedirect = nil
            redirectSink = redirect(location)
        }
    }

    /// SIGTERM to what is left of the script's process group, SIGKILL two
    /// seconds later; the reaper forgets the group once it is empty.
    private func endGroup() {
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
}
