import NIOCore

/// Sits in front of the HTTP decoder and announces that bytes arrived, so the
/// connection can tell an idle keep-alive connection (keep-alive timeout)
/// from one whose next request head is on its way (header timeout), and
/// knows what the client sent should the decoder refuse it.
/// A direct call rather than a pipeline event: it runs on every read.
final class RequestByteObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connection: HTTP1Connection

    init(connection: HTTP1Connection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.readArrived(unwrapInboundIn(data))
        context.fireChannelRead(data)
        connection.readDone()
    }
}
