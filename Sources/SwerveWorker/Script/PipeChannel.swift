import Glibc
import NIOCore
import NIOPosix

/// A script's pipe end as a NIO channel on the connection's event loop.
enum PipeChannel {
    /// Takes `descriptor` over (`reader` handles a read end's bytes). On
    /// failure the descriptor is closed here, unless NIO got as far as
    /// creating the channel, which then closed it itself.
    static func open(_ descriptor: Int32, reading: Bool, reader: PipeReader? = nil, on eventLoop: EventLoop,
                     completion: @escaping (Result<Channel, Error>) -> Void) {
        final class Created: @unchecked Sendable { var value = false }
        let created = Created()
        let bootstrap = NIOPipeBootstrap(group: eventLoop).channelInitializer { channel in
            created.value = true
            return channel.eventLoop.makeCompletedFuture {
                if let reader { try channel.pipeline.syncOperations.addHandler(reader) }
            }
        }
        let future = reading ? bootstrap.takingOwnershipOfDescriptor(input: descriptor)
                             : bootstrap.takingOwnershipOfDescriptor(output: descriptor)
        future.assumeIsolated().whenComplete { result in
            if case .failure = result, !created.value { close(descriptor) }
            completion(result)
        }
    }
}

/// Hands a read end's bytes on, and its end once (EOF, error, or closed by
/// us), then lets go of its receiver. Event loop only.
final class PipeReader: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private var onRead: ((ByteBuffer) -> Void)?
    private var onEnd: (() -> Void)?

    init(onRead: @escaping (ByteBuffer) -> Void, onEnd: @escaping () -> Void) {
        self.onRead = onRead
        self.onEnd = onEnd
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onRead?(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        ended()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func ended() {
        guard let onEnd else { return }
        onRead = nil
        self.onEnd = nil
        onEnd()
    }
}
