import Glibc
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SwerveConfig

/// A listening socket the worker was given (bound by the master).
public struct InheritedListener: Sendable {
    public var address: ListenAddress
    public var descriptor: Int32
    /// The socket's listen(2) backlog: the config's for sockets the master
    /// bound, systemd's `Backlog=` for adopted ones.
    public var backlog: Int32

    public init(address: ListenAddress, descriptor: Int32, backlog: Int32) {
        self.address = address
        self.descriptor = descriptor
        self.backlog = backlog
    }
}

/// The worker process's entry point: one event loop serving the inherited
/// sockets until told to stop. The process is the unit of parallelism, as
/// in nginx, so the loop has one thread; a small pool does blocking file work.
public enum Worker {
    /// Serves until SIGQUIT (drain, then return) or SIGTERM/SIGINT (return at once).
    /// `onReady` runs once every listener accepts; `heartbeat` every second on
    /// the event loop (the master's proof that the loop is not stuck).
    /// `accessLog` is opened by the caller (`openAccessLog`) before it drops
    /// privileges, as nginx's master opens logs as root.
    public static func run(config: Config, listeners: [InheritedListener], accessLog: AccessLog?,
                           errorLog: LogFile? = nil, logger: Logger, scripts: ScriptRegistry? = nil,
                           onReady: @escaping @Sendable () -> Void = {},
                           heartbeat: (@Sendable () -> Bool)? = nil) throws {
        // Before any thread starts: every thread inherits the mask, and only the
        // signal thread takes these (a forked worker has had them blocked since fork).
        SignalThread.block(WorkerLifecycle.handledSignals)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let threadPool = NIOThreadPool(numberOfThreads: 4)
        threadPool.start()
        // Neither is shut down on the way out: the worker process exits next
        // (`_exit`), which ends every thread. NIO's graceful shutdowns complete
        // on a Dispatch queue, whose thread logs "Failed to set thread priority"
        // under the hardened unit at every worker exit; and by then the drain
        // has finished every request and the access log is flushed.
        let eventLoop = group.next()
        let dates = DateCache()
        let cache = FileCache()
        let reaper = ChildReaper(eventLoop: eventLoop, registry: scripts)
        let shortage = ShortageLog(logger: logger, dates: dates)
        let sites = config.vhosts.map {
            makeSite($0, config: config, threadPool: threadPool, cache: cache, dates: dates, eventLoop: eventLoop,
                     reaper: reaper, logger: logger, shortage: shortage)
        }
        // Built here, after fork, from the bytes the master read: the master makes no TLS context.
        let tls = config.tlsAddresses.isEmpty ? nil : try TLSContexts(config: config)
        if let tls, !tls.sharesTickets {
            logger.warning("cannot set the shared session ticket key and cipher order on swift-nio-ssl's SSL_CTX (changed?): sessions resume only at the worker that began them")
        }
        if let tls, !tls.answersALPNChallenges {
            logger.error("cannot reach swift-nio-ssl's SSL_CTX (changed?): tls-alpn-01 challenges will fail; use 'challenge: http-01'")
        }
        let worker = WorkerContext(config: config, sites: sites, accessLog: accessLog, logger: logger,
                                   threadPool: threadPool, eventLoop: eventLoop, dates: dates, shortage: shortage,
                                   tls: tls)

        var channels: [Channel] = []
        for listener in listeners {
            let channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(AcceptFailureHandler(worker: worker))
                    }
                }
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try ServerPipeline.configure(channel, worker: worker, listener: listener.address)
                    }
                }
                .withBoundSocket(listener.descriptor)
                .wait()
            // NIO listens again on an adopted socket with its own backlog (128):
            // the socket's own is put back (listen(2) on a listening socket only resizes it).
            Glibc.listen(listener.descriptor, listener.backlog)
            channels.append(channel)
        }
        let listening = channels
        let lifecycle = WorkerLifecycle(worker: worker, listeners: listening, reaper: reaper, errorLog: errorLog,
                                        heartbeat: heartbeat)
        try eventLoop.submit { worker.serverChannels = listening; lifecycle.start() }.wait()
        lifecycle.installSignalHandlers()
        onReady()
        logger.info("worker serving \(listeners.map(\.address.description).joined(separator: ", "))")
        try lifecycle.finished.wait()
    }

    /// How many scripts one worker may run at once: the sum of the script
    /// routes' `max_concurrent` (the size of its `ScriptRegistry`); 0 without script routes.
    public static func maxScripts(_ config: Config) -> Int {
        config.vhosts.flatMap(\.routes).reduce(0) { total, route in
            if case .script(let script) = route.kind { return total + script.maxConcurrent }
            return total
        }
    }

    public static func openAccessLog(_ logging: LoggingSettings) throws -> AccessLog? {
        switch logging.accessLog {
        case .off: return nil
        case .stdout: return AccessLog(file: try LogFile(path: nil, descriptor: STDOUT_FILENO), format: logging.format)
        case .file(let path): return AccessLog(file: try LogFile(path: path, descriptor: -1), format: logging.format)
        }
    }

    static func makeSite(_ vhost: VirtualHost, config: Config, threadPool: NIOThreadPool,
                         cache: FileCache, dates: DateCache, eventLoop: EventLoop, reaper: ChildReaper,
                         logger: Logger, shortage: ShortageLog) -> Site {
        let maxBody = config.server.limits.maxBodySize
        let responders: [(prefix: String, value: any Responder)] = vhost.routes.map { route in
            switch route.kind {
            case .static(let options):
                return (route.path, StaticResponder(options: options, mimeTypes: config.mimeTypes, index: vhost.index,
                                                    threadPool: threadPool, cache: cache, dates: dates,
                                                    maxBodySize: maxBody, shortage: shortage))
            case .upload(let upload):
                let context = UploadResponder.Context(pool: threadPool, eventLoop: eventLoop, dates: dates, logger: logger,
                                                      realDir: FileSystem.realPath(upload.dir) ?? upload.dir,
                                                      mimeTypes: config.mimeTypes, shortage: shortage)
                return (route.path, UploadResponder(route: upload, context: context))
            case .script(let script):
                let prefix = route.path.hasSuffix("/") ? String(route.path.dropLast()) : route.path
                let realDir = FileSystem.realPath(script.dir) ?? script.dir
                let files = StaticResponder(options: StaticRoute(), mimeTypes: config.mimeTypes, index: vhost.index,
                                            threadPool: threadPool, cache: cache, dates: dates, maxBodySize: maxBody,
                                            shortage: shortage, mount: .init(prefix: prefix, dir: script.dir))
                let searchPath = script.env["PATH"] ?? CGIEnvironment.defaultPath
                let locator = ScriptLocator(prefix: prefix, dir: script.dir, realDir: realDir,
                                            interpreters: script.interpreters, searchPath: searchPath)
                let context = ScriptResponder.Context(threadPool: threadPool, reaper: reaper, dates: dates, logger: logger,
                                                      timeout: TimeAmount(config.server.timeouts.script), shortage: shortage)
                return (route.path, ScriptResponder(route: script, locator: locator, files: files, context: context,
                                                    slots: ScriptSlots(limit: script.maxConcurrent), maxBodySize: maxBody))
            }
        }
        return Site(vhost: vhost, realRoot: FileSystem.realPath(vhost.root) ?? vhost.root,
                    routes: RouteTable(responders), errorPages: ErrorPages(vhost: vhost, mimeTypes: config.mimeTypes, logger: logger))
    }
}
