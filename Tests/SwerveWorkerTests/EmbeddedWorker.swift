import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import SwerveConfig
import SwerveWorker

/// A worker's context for connection tests on an `EmbeddedEventLoop`: one
/// vhost, `a.test`, whose every path goes to `responder`, on `listener`;
/// the clock is the loop's. `adjust` changes the config first (timeouts).
func embeddedWorker(loop: EmbeddedEventLoop, listener: ListenAddress, responder: any Responder,
                    accessLog: AccessLog? = nil, adjust: (inout Config) -> Void = { _ in }) -> WorkerContext {
    var config = Config(file: "test.yaml", directory: "/")
    adjust(&config)
    var vhost = VirtualHost()
    vhost.names = [.exact("a.test")]
    vhost.listen = [listener]
    vhost.root = "/nonexistent"
    config.vhosts = [vhost]
    let site = Site(vhost: vhost, realRoot: vhost.root, routes: RouteTable([("/", responder)]), errorPages: ErrorPages())
    let dates = DateCache()
    let logger = Logger(label: "test")
    return WorkerContext(config: config, sites: [site], accessLog: accessLog, logger: logger,
                         threadPool: NIOThreadPool(numberOfThreads: 1), eventLoop: loop, dates: dates,
                         shortage: ShortageLog(logger: logger, dates: dates), now: { loop.now })
}

/// The responder of the connection tests: answers "/now" at once; "/later"
/// when the test says so (`pending`); "/echo" with the body's size; counts
/// the aborts it is told of.
final class ScriptedResponder: Responder, @unchecked Sendable {
    var pending: [ResponseWriter] = []
    var aborted = 0
    var maxBodySize: Int { 1024 }

    final class Sink: RequestBodySink {
        let responder: ScriptedResponder
        let response: ResponseWriter
        var received = 0
        init(_ responder: ScriptedResponder, _ response: ResponseWriter) {
            self.responder = responder
            self.response = response
        }
        var wantsBody: Bool { true }
        func receive(_ part: ByteBuffer) { received += part.readableBytes }
        func receiveEnd() {
            guard isEcho, !response.headSent else { return }
            response.send(.ok, body: ByteBuffer(string: "got \(received)"))
        }
        var isEcho = false
        func abort() { responder.aborted += 1 }
    }

    func respond(to request: Request, response: ResponseWriter) -> RequestBodySink {
        switch request.target.path {
        case "/now":
            response.send(.ok, headers: ["Content-Type": "text/plain"], body: ByteBuffer(string: "now"))
        case "/later":
            pending.append(response)
        default:
            break
        }
        let sink = Sink(self, response)
        sink.isEcho = request.target.path == "/echo"
        return sink
    }
}
