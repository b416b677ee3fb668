// tlsload — new TLS connections per second: CONCURRENCY loops on one event
// loop, each opening a connection, completing a full handshake, sending one
// request with `Connection: close`, reading the answer to the end and starting
// over. No session is ever resumed: every connection pays the full handshake.
//
//   tlsload HOST PORT SNI PATH CONCURRENCY SECONDS
//
// Prints "connections-per-second failures". A connection counts when it
// ended within the window with a whole 200 answer.
//
// Why not wrk or h2load: both link Debian's OpenSSL 3.0, whose client
// handshake costs more CPU than either server's (about 700 us), so on this
// machine they measured the client. BoringSSL's client costs less than the
// servers do, so the servers are what saturates.
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

let arguments = CommandLine.arguments
guard arguments.count == 7, let port = Int(arguments[2]), let concurrency = Int(arguments[5]),
      let seconds = Double(arguments[6]), concurrency > 0, seconds > 0 else {
    FileHandle.standardError.write(Data("usage: tlsload HOST PORT SNI PATH CONCURRENCY SECONDS\n".utf8))
    exit(2)
}
let host = arguments[1], serverName = arguments[3], path = arguments[4]

var configuration = TLSConfiguration.makeClientConfiguration()
configuration.certificateVerification = .none  // the handshake's signature is still checked
// What Debian's OpenSSL 3.0 clients (curl, wrk) offer, and all nginx 1.22 can
// agree on: no post-quantum hybrid, which BoringSSL would otherwise offer and
// swerve accept, at a price nginx never pays here.
configuration.curves = [.x25519, .secp256r1]
let context = try NIOSSLContext(configuration: configuration)
let address = try SocketAddress(ipAddress: host, port: port)
let request = "GET \(path) HTTP/1.1\r\nHost: \(serverName)\r\nConnection: close\r\n\r\n"

/// Sends the request once the channel is up (NIOSSL holds it until the
/// handshake is done) and judges the answer when the server closes: a 200
/// whose body is as long as its Content-Length says.
final class OneExchange: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var head: [UInt8] = []
    private var statusLine = ""
    private var bodyBytes = 0
    private var expected: Int?
    private let finished: (Bool) -> Void

    init(finished: @escaping (Bool) -> Void) { self.finished = finished }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if expected != nil {
            bodyBytes += buffer.readableBytes
            return
        }
        head += buffer.readableBytesView
        let blankLine: [UInt8] = [13, 10, 13, 10]
        guard let end = head.indices.dropLast(3).first(where: { head[$0..<$0 + 4].elementsEqual(blankLine) }) else { return }
        bodyBytes = head.count - end - 4
        let lines = String(decoding: head[..<end], as: UTF8.self).split(separator: "\r\n")
        statusLine = lines.first.map(String.init) ?? ""
        expected = lines.first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? -1
    }

    func channelInactive(context: ChannelHandlerContext) {
        finished(statusLine.hasPrefix("HTTP/1.1 200") && expected == bodyBytes)
    }

    // A missing close_notify after a complete answer is not a failure here.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
let start = NIODeadline.now()
let end = start + .nanoseconds(Int64(seconds * 1e9))
var succeeded = 0, failed = 0, running = concurrency
let done = loop.makePromise(of: Void.self)

/// One loop: connect, exchange, count, again until the window closes.
func next() {
    if NIODeadline.now() >= end {
        running -= 1
        if running == 0 { done.succeed(()) }
        return
    }
    let bootstrap = ClientBootstrap(group: loop).channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
            try channel.pipeline.syncOperations.addHandler(OneExchange { ok in
                if NIODeadline.now() < end { if ok { succeeded += 1 } else { failed += 1 } }
                loop.execute(next)
            })
        }
    }
    bootstrap.connect(to: address).whenFailure { _ in
        if NIODeadline.now() < end { failed += 1 }
        loop.execute(next)
    }
}

loop.execute { for _ in 0..<concurrency { next() } }
// A connection the server never closes must not hold the run: 5 s after the
// window, whatever is still open counts as failed.
loop.scheduleTask(deadline: end + .seconds(5)) {
    if running > 0 {
        failed += running
        running = 0
        done.succeed(())
    }
}
try done.futureResult.wait()
print(String(format: "%.0f %d", Double(succeeded) / seconds, failed))
exit(0)
