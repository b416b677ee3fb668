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
    public let vhosts: VHostTable
    public let dates: DateCache
    public let accessLog: AccessLog?
    public let logger: Logger
    public let threadPool: NIOThreadPool
    public let eventLoop: EventLoop

    /// Set when the worker drains: responses carry `Connection: close`.
    public var isDraining = false
    /// Connections open right now, for `max_connections`.
    public private(set) var openConnections = 0
    /// The listening channels, paused while the worker is at `max_connections`.
    public var serverChannels: [Channel] = []
    private var acceptingPaused = false

    public init(config: Config, sites: [Site], accessLog: AccessLog?, logger: Logger,
                threadPool: NIOThreadPool, eventLoop: EventLoop, dates: DateCache) {
        self.dates = dates
        self.config = config
        self.sites = sites
        self.vhosts = VHostTable(vhosts: config.vhosts)
        self.accessLog = accessLog
        self.logger = logger
        self.threadPool = threadPool
        self.eventLoop = eventLoop
    }

    public var timeouts: Timeouts { config.server.timeouts }

    /// Every open connection, so a drain can tell each how to finish.
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]

    func track(_ connection: HTTPConnection) { connections[ObjectIdentifier(connection)] = connection }
    func untrack(_ connection: HTTPConnection) { connections[ObjectIdentifier(connection)] = nil }

    /// SPEC §3's drain: each connection finishes what it received, then closes.
    func drainConnections() {
        for connection in connections.values { connection.drain() }
    }

    /// At `max_connections` the worker stops accepting (other workers take the
    /// load from the shared sockets) until a connection closes.
    func connectionOpened() {
        openConnections += 1
        if openConnections >= config.server.maxConnections && !acceptingPaused {
            acceptingPaused = true
            for channel in serverChannels { channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
        }
    }

    func connectionClosed() {
        openConnections -= 1
        if openConnections < config.server.maxConnections && acceptingPaused && !isDraining {
            acceptingPaused = false
            for channel in serverChannels { channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in } }
        }
    }
}
