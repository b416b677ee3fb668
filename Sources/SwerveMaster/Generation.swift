import Glibc
import Logging
import SwerveConfig
import SwerveWorker

/// The workers started from one `Config`. A reload starts a new generation
/// and, once all its workers are ready, lets the old one drain and exit.
final class Generation {
    let id: Int
    let config: Config
    let listeners: [InheritedListener]
    /// What an acme helper serving this config works from (`HelperProcess.key`); nil: none needed.
    let helperKey: String?
    /// Where its workers log: the error log and level of its own config.
    let logger: Logger
    let errorLog: LogFile
    /// How many workers this generation should have (TTIN / TTOU change it).
    var target: Int
    var workers: [pid_t: WorkerProcess] = [:]
    /// Set once the generation was told to drain: its workers are not replaced.
    var isRetiring = false
    var backoff = Backoff()
    /// When the next replacement may be forked (after a crash back-off).
    var nextSpawnAt = 0.0

    init(id: Int, config: Config, listeners: [InheritedListener], target: Int, logger: Logger, errorLog: LogFile) {
        self.id = id
        self.config = config
        self.listeners = listeners
        helperKey = HelperProcess.key(for: config)
        self.target = target
        self.logger = logger
        self.errorLog = errorLog
    }

    var isReady: Bool { workers.count >= target && workers.values.allSatisfy(\.isReady) }
    var missing: Int { isRetiring ? 0 : max(0, target - workers.count) }

    /// The configured worker count: `auto` is the number of online CPUs.
    static func workerCount(_ config: Config) -> Int {
        switch config.server.workers {
        case .fixed(let count): return count
        case .auto: return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        }
    }
}
