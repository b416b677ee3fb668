import Logging
import NIOCore
import NIOPosix
import SwerveConfig

/// Everything one worker's connections share: the config, the sites, the
/// logs and caches. Built once when the worker starts and used only on its
/// single event loop thread, which is why it is `@unchecked Sendable`.
public final class WorkerContext: @unchecked Sendable {
    public let config: Config
    public let sites: [Site]
    /// Host and target → route, for every request.
    let router: Router
    /// http-01 answers on plain listeners; nil without ACME vhosts.
    let acmeChallenges: ACMEChallengeAnswers?
    public let dates: DateCache
    public let accessLog: AccessLog?
    /// The TLS contexts of the TLS listeners; nil when there are none.
    package let tls: TLSContexts?
    public let logger: Logger
    public let threadPool: NIOThreadPool
    /// File reads on the pool, for files sent over TLS (no sendfile there).
    let fileIO: NonBlockingFileIO
    public let eventLoop: EventLoop
    let shortage: ShortageLog

    /// Set when the worker drains: responses carry `Connection: close`.
    public private(set) var isDraining = false
    /// Connections open right now, for `max_connections`.
    public private(set) var openConnections = 0
    /// The listening channels, paused while the worker is at `max_connections`
    /// or accept has just failed.
    public var serverChannels: [Channel] = []
    private var atMaxConnections = false
    private var acceptFailedRecently = false
    private var accepting = true

    /// How long accepting pauses after accept failed (EMFILE, ENFILE, ENOBUFS).
    static let acceptPause = TimeAmount.milliseconds(100)

    /// The connections' clock: `NIODeadline.now` in production, an embedded
    /// event loop's virtual time in tests.
    let now: @Sendable () -> NIODeadline
    /// The connections' timeouts, on one ticking clock.
    let timers: TimerWheel

    package init(config: Config, sites: [Site], accessLog: AccessLog?, logger: Logger,
                 threadPool: NIOThreadPool, eventLoop: EventLoop, dates: DateCache, shortage: ShortageLog,
                 tls: TLSContexts? = nil, now: @escaping @Sendable () -> NIODeadline = { .now() }) {
        self.now = now
        self.timers = TimerWheel(eventLoop: eventLoop, now: now)
        self.shortage = shortage
        self.dates = dates
        self.config = config
        self.sites = sites
        self.router = Router(sites: sites)
        self.acmeChallenges = ACMEChallengeAnswers(config)
        self.accessLog = accessLog
        self.tls = tls
        self.logger = logger
        self.threadPool = threadPool
        self.fileIO = NonBlockingFileIO(threadPool: threadPool)
        self.eventLoop = eventLoop
    }

    public var timeouts: Timeouts { config.server.timeouts }

    /// Every open connection, so a drain can tell each how to finish.
    private var connections: [ObjectIdentifier: any DrainableConnection] = [:]

    func track(_ connection: some DrainableConnection) { connections[ObjectIdentifier(connection)] = connection }
    func untrack(_ connection: some DrainableConnection) { connections[ObjectIdentifier(connection)] = nil }

    /// SPEC §3's drain: each connection finishes what it received, then
    /// closes. The future succeeds when the last connection has closed.
    package func drain() -> EventLoopFuture<Void> {
        isDraining = true
        let drained = eventLoop.makePromise(of: Void.self)
        self.drained = drained
        for connection in connections.values { connection.drain() }
        if openConnections == 0 {
            // A connection accepted while the listeners close must not complete it again.
            self.drained = nil
            drained.succeed(())
        }
        return drained.futureResult
    }

    private var drained: EventLoopPromise<Void>?

    /// At `max_connections` the worker stops accepting (other workers take the
    /// load from the shared sockets) until a connection closes.
    func connectionOpened() {
        openConnections += 1
        atMaxConnections = openConnections >= config.server.maxConnections
        updateAccepting()
    }

    func connectionClosed() {
        openConnections -= 1
        atMaxConnections = openConnections >= config.server.maxConnections
        updateAccepting()
        if openConnections == 0, let drained {
            self.drained = nil
            drained.succeed(())
        }
    }

    /// Out of descriptors, accept fails while the socket stays readable: the
    /// loop would spin at 100 % CPU. Accepting pauses for a moment (other
    /// workers take the connections meanwhile), and the cause is logged at
    /// most once a second. (NIO's AcceptBackoffHandler does not stop the
    /// spin here: the channel stays registered for reads.)
    func acceptFailed(_ error: Error) {
        shortage.report("accept failed: \(error); pausing accepts for \(Self.acceptPause.nanoseconds / 1_000_000) ms")
        guard !acceptFailedRecently else { return }
        acceptFailedRecently = true
        updateAccepting()
        eventLoop.assumeIsolated().scheduleTask(in: Self.acceptPause) { [self] in
            acceptFailedRecently = false
            updateAccepting()
        }
    }

    private func updateAccepting() {
        let wanted = !atMaxConnections && !acceptFailedRecently && !isDraining
        guard wanted != accepting else { return }
        accepting = wanted
        for channel in serverChannels { try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: wanted) }
    }
}

/// A connection a drain tells to finish: HTTP/1.1 answers what it received
/// with `Connection: close`, HTTP/2 sends GOAWAY.
protocol DrainableConnection: AnyObject {
    func drain()
}
