import NIOCore

/// Sits in front of the HTTP decoder and announces that bytes arrived, so the
/// connection can tell an idle keep-alive connection (keep-alive timeout)
/// from one whose next request head is on its way (header timeout).
final class RequestByteObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(RequestBytesArrived())
        context.fireChannelRead(data)
    }
}
