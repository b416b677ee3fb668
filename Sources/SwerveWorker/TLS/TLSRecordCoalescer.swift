import NIOCore

/// Gathers small writes until the flush, so that TLS seals them in one
/// record. NIOSSL makes one record (and one AEAD seal) per buffer written to
/// it, and NIOHTTP2 writes three buffers for a small response (the HEADERS
/// frame, a DATA frame's header, its payload): 1 KiB answered to ten
/// streams at once was thirty records of 22 bytes' overhead each where
/// nginx writes one (its `ssl_buffer_size`, 16 KiB). Writes of a record's
/// size or more pass as they are, after what was gathered before them, so
/// large bodies are not copied.
package final class TLSRecordCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    package typealias OutboundIn = IOData
    package typealias OutboundOut = IOData

    /// TLS's largest record's plaintext.
    package static let recordSize = 16 << 10

    private var gathered: ByteBuffer?
    /// Completes with the gathered write; the promises of the writes in it are cascaded from it.
    private var gatheredPromise: EventLoopPromise<Void>?

    package init() {}

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(let buffer) = unwrapOutboundIn(data), buffer.readableBytes < Self.recordSize else {
            writeGathered(context: context)
            context.write(data, promise: promise)
            return
        }
        if let gathered, gathered.readableBytes + buffer.readableBytes > Self.recordSize {
            writeGathered(context: context)
        }
        if gathered == nil {
            gathered = context.channel.allocator.buffer(capacity: max(4096, buffer.readableBytes))
        }
        gathered!.writeImmutableBuffer(buffer)
        if let promise {
            if let gatheredPromise {
                gatheredPromise.futureResult.cascade(to: promise)
            } else {
                gatheredPromise = promise
            }
        }
    }

    package func flush(context: ChannelHandlerContext) {
        writeGathered(context: context)
        context.flush()
    }

    /// What was gathered and never flushed fails, as a channel fails any
    /// unflushed write when it closes (`HTTP2Connection` flushes before it closes).
    package func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        dropGathered()
        context.close(mode: mode, promise: promise)
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        dropGathered()
    }

    private func dropGathered() {
        gathered = nil
        let promise = gatheredPromise
        gatheredPromise = nil
        promise?.fail(ChannelError.ioOnClosedChannel)
    }

    private func writeGathered(context: ChannelHandlerContext) {
        guard let buffer = gathered else { return }
        gathered = nil
        let promise = gatheredPromise
        gatheredPromise = nil
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
    }
}
