import NIOCore

/// The request body on its way to a script's stdin: held until the pipe's
/// channel exists, written in order, reading paused while the script is
/// behind, and stdin closed (EOF) once the body is complete. Event loop only.
final class ScriptInput {
    private enum State {
        /// The pipe's channel is being created; parts wait for it.
        case connecting(pending: [ByteBuffer])
        case open(Channel)
        /// The script takes no more (no body, it closed stdin, it ended):
        /// the rest of the body is dropped.
        case closed
    }

    private var state = State.connecting(pending: [])
    /// The whole body has arrived.
    private var ended = false
    private let gate: BackpressureGate

    init(response: ResponseWriter) {
        gate = BackpressureGate(.pipe, pause: response.pauseReading, resume: response.resumeReading)
    }

    /// Takes the pipe's write end over (-1: the script reads /dev/null).
    func attach(_ descriptor: Int32, on eventLoop: EventLoop) {
        guard descriptor >= 0 else {
            close()
            return
        }
        PipeChannel.open(descriptor, reading: false, on: eventLoop) { [self] result in
            guard case .connecting(let pending) = state, case .success(let channel) = result else {
                if case .success(let channel) = result { channel.close(promise: nil) }
                close()
                return
            }
            state = .open(channel)
            // All queued before the one flush: a write that completes at once
            // may resume reading, and a part that arrives then (HTTP/2 hands
            // over held DATA synchronously) must go after these, not between.
            for part in pending { write(part, to: channel, counted: true, flush: false) }
            channel.flush()
            closeIfComplete()
        }
    }

    func receive(_ part: ByteBuffer) {
        switch state {
        case .connecting(var pending):
            pending.append(part)
            state = .connecting(pending: pending)
            gate.queued(part.readableBytes)
        case .open(let channel):
            write(part, to: channel, counted: false)
        case .closed:
            break
        }
    }

    func receiveEnd() {
        ended = true
        closeIfComplete()
    }

    /// The script is gone (or ended by us): stdin closes, reading resumes.
    func close() {
        if case .open(let channel) = state { channel.close(promise: nil) }
        state = .closed
        gate.open()
    }

    /// `counted`: the part is already in the gate (it waited for the pipe).
    private func write(_ part: ByteBuffer, to channel: Channel, counted: Bool, flush: Bool = true) {
        let count = part.readableBytes
        if !counted { gate.queued(count) }
        let written = flush ? channel.writeAndFlush(part) : channel.write(part)
        written.assumeIsolated().whenComplete { [self] result in
            gate.consumed(count)
            // EPIPE: the script does not read its stdin (any more). Not an error:
            // it may answer without the body; the rest of it is discarded.
            if case .failure = result { close() }
            closeIfComplete()
        }
    }

    /// EOF on the script's stdin once the body is complete and written.
    private func closeIfComplete() {
        guard ended, case .open = state, gate.queuedBytes == 0 else { return }
        close()
    }
}
