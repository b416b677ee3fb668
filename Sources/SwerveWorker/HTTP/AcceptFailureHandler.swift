import NIOCore

/// On a listening channel: an accept that failed (no descriptor left,
/// usually) pauses accepting for a moment — see `WorkerContext.acceptFailed`.
final class AcceptFailureHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = Channel

    private let worker: WorkerContext

    init(worker: WorkerContext) {
        self.worker = worker
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        worker.acceptFailed(error)
    }
}
