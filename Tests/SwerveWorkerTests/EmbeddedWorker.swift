import Logging
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
