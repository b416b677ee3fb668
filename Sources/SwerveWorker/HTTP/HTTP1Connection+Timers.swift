import Glibc
import NIOCore
import NIOHTTP1

/// Reading on and off, the connection's one timer on the worker's wheel,
/// and the lingering close.
extension HTTP1Connection: TimerWheel.Client {
    func syncReading() {
        let wanted = machine.shouldRead
        guard wanted != reading, let channel = context?.channel else { return }
        reading = wanted
        try? options?.setOption(ChannelOptions.autoRead, value: wanted)
        if wanted { channel.read() }
    }

    /// Armed lazily on the worker's timer wheel: moving the deadline later
    /// (every request on a busy keep-alive connection does) costs nothing;
    /// when the earlier slot comes, the connection arms again for the new one.
    func syncTimer() {
        guard let deadline = machine.timer?.deadline, context != nil else { return }
        worker.timers.arm(self, at: deadline, unlessArmedBefore: &armedSlot)
    }

    func timerSlotCame(_ slot: Int64, now: NIODeadline) {
        guard slot == armedSlot else { return }  // armed since for an earlier slot
        armedSlot = nil
        guard let timer = machine.timer, let context else { return }
        if now < timer.deadline {
            syncTimer()
            return
        }
        if timer.kind == .send {
            let buffered = bufferedBytes()
            if buffered == 0 {
                machine.responseHandedOver(now: now)  // handed over meanwhile
                syncTimer()
                return
            }
            if buffered < bufferedAtSendTick {
                bufferedAtSendTick = buffered  // the client is reading, slowly
                machine.sendProgressed(now: now)
                syncTimer()
                return
            }
            worker.logger.info("\(remoteAddress?.description ?? "a client") took no data for \(worker.timeouts.send.components.seconds)s: connection closed")
        }
        switch machine.timerFired(now: now) {
        case .respondTimeout:
            let exchange = self.exchange ?? makeExchange(Exchange.placeholderHead())
            exchange.sink.abort()
            exchange.response.closeAfterResponse()
            exchange.response.sendError(.requestTimeout)
        case .abortExchange:
            exchange?.sink.abort()
            exchange?.response.abort()
        case .close:
            context.close(promise: nil)
        case .none:
            break
        }
        syncTimer()
    }

    func bufferedBytes() -> Int {
        (try? options?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
    }

    /// Lingering close, as nginx and Apache: shut down our side (once what is
    /// written has left), then discard input until the client closes or the
    /// linger runs out, so unread request bytes never turn our close into a
    /// reset that destroys the response.
    func closeLingering() {
        guard let context, context.channel.isActive else { return }
        context.close(mode: .output, promise: nil)
        syncReading()
        syncTimer()
    }
}
