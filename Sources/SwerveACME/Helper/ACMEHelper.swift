import Dispatch
import Glibc
import Logging
import NIOCore
import NIOPosix
import SwerveConfig

/// The `swerve: acme` process (SPEC §4, DESIGN "Helpers"): forked by the
/// master when some vhost has `tls: { acme: true }`, it talks to the ACME
/// directory — the network work the single-threaded master never does —
/// and tells the master, through its pipe, when a new certificate is
/// stored. Its own threads: one event loop for HTTPS, Swift concurrency for
/// the ACME conversation, and the main thread waiting for signals.
package enum ACMEHelper {
    /// What the helper writes on its pipe.
    package enum Message: UInt8 {
        case ready = 0x52  // "R": started
        case heartbeat = 0x68  // "h": every second, from the event loop
        case reload = 0x4C  // "L": a certificate changed; reload to serve it
    }

    static let signals = [SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGHUP]
    /// How long a stop waits for the cancelled order to unwind.
    static let unwindLimit: DispatchTimeInterval = .seconds(2)

    /// Creates the storage folders (as root, handing them to `owner`): the
    /// master-side child calls this before it drops privileges.
    package static func prepareStorage(_ config: Config, owner: (uid: uid_t, gid: gid_t)?) throws {
        guard let settings = config.acme else { return }
        try StorageFiles.prepare(settings.layout, owner: owner)
    }

    /// Runs until QUIT, TERM or INT, or until the master is gone; returns the exit status.
    /// `notify` writes one message to the master and is false once the master is gone.
    package static func run(config: Config, logger: Logger, notify: @escaping @Sendable (Message) -> Bool,
                            reopenLogs: @escaping @Sendable () -> Void) -> Int32 {
        // Blocked before any thread starts, so only the main thread takes them (sigwaitinfo below).
        var waited = sigset_t()
        sigemptyset(&waited)
        for number in signals { sigaddset(&waited, number) }
        pthread_sigmask(SIG_BLOCK, &waited, nil)
        guard let settings = config.acme else { return 0 }
        let layout = settings.layout
        removeAnswers(layout)

        let key: AccountKey
        do {
            key = try accountKey(layout, logger: logger)
        } catch {
            logger.critical("acme: \(error)")
            return 1
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { _ in
            if !notify(.heartbeat) { _exit(0) }  // the master is gone: so is its helper
        }
        let http: HTTPSClient
        do {
            http = try HTTPSClient(group: group, extraRootsPEM: settings.caRoots.flatMap(StorageFiles.read),
                                   userAgent: "swerve/\(SwerveVersion.string)")
        } catch {
            logger.critical("acme: cannot set up TLS for the directory (acme.ca_roots?): \(error)")
            return 1
        }
        let client = ACMEClient(directoryURL: settings.directory, key: key, http: http)
        let keeper = CertificateKeeper(config: config, settings: settings, client: client, logger: logger,
                                       askReload: { notify(.reload) })
        _ = notify(.ready)
        logger.info("acme: helper started: \(config.acmeVHosts.count) vhost(s), directory \(settings.directory), \(settings.challenge.rawValue), storage \(settings.storage)")
        let finished = DispatchSemaphore(value: 0)
        let work = Task {
            await keeper.run()
            finished.signal()
        }

        while true {
            let number = sigwaitinfo(&waited, nil)
            switch number {
            case SIGQUIT, SIGTERM, SIGINT:
                // An order under way is abandoned: the CA lets it expire, and
                // the next helper starts a new one.
                // The order's task may be writing an answer right now: it is
                // given a moment to unwind (it removes its own answers) before
                // the folder is emptied, so none is left behind.
                work.cancel()
                _ = finished.wait(timeout: .now() + Self.unwindLimit)
                removeAnswers(layout)
                logger.info("acme: helper stopping (\(number == SIGQUIT ? "QUIT" : "TERM"))")
                return 0
            case SIGUSR1:
                reopenLogs()
            default:
                break
            }
        }
    }

    /// The account key, made on first use and kept 0600; one that exists
    /// but cannot be read is never replaced (the account is tied to it).
    static func accountKey(_ layout: ACMEStorage, logger: Logger) throws -> AccountKey {
        if StorageFiles.exists(layout.accountKey) {
            guard let pem = StorageFiles.read(layout.accountKey) else {
                throw ACMEError.local("cannot read the account key \(layout.accountKey) (its owner or mode?); it is never replaced")
            }
            guard let key = AccountKey(pem: pem) else {
                throw ACMEError.local("\(layout.accountKey) holds no P-256 private key; move it away to start a new account")
            }
            return key
        }
        let key = try AccountKey()
        try StorageFiles.write(try key.pem, to: layout.accountKey, mode: 0o600)
        logger.info("acme: new account key in \(layout.accountKey)")
        return key
    }

    /// Challenge answers left by a helper that was stopped or died.
    static func removeAnswers(_ layout: ACMEStorage) {
        for folder in [layout.challenges, layout.alpnChallenges] {
            guard let dir = opendir(folder) else { continue }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                guard entry.pointee.d_type == UInt8(DT_REG) else { continue }
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                unlink(folder + "/" + name)
            }
        }
    }
}
