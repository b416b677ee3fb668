/// The whole configuration, decoded and validated: plain values, defaults
/// next to their fields, every path absolute.
///
/// A `Config` is what the master forks workers with; nothing in it is
/// re-read or re-parsed by a worker.
public struct Config: Sendable {
    /// The config file as it was named (for messages), and its folder, absolute.
    public var file: String
    public var directory: String

    public var server = ServerSettings()
    public var logging = LoggingSettings()
    public var mimeTypes = MIMETypes()
    public var vhosts: [VirtualHost] = []
    /// The top-level `acme:` block, when written.
    public var acme: ACMESettings?
    /// The key that encrypts TLS session tickets: made by the master at each
    /// (re)load, before it forks, so any worker of a generation resumes a
    /// session another one began (docs/configuration.md). Empty without TLS listeners.
    public var sessionTicketKey: [UInt8] = []
    /// Where top-level settings were written ("server.user" → mark), for messages after decoding.
    public var settingMarks: [String: Mark] = [:]

    /// The mark of a setting, or the file's start when it was not written.
    public func mark(of setting: String) -> Mark { settingMarks[setting] ?? .start }

    public init(file: String, directory: String) {
        self.file = file
        self.directory = directory
    }

    /// Every distinct address some vhost listens on, in the order first named.
    public var listenAddresses: [ListenAddress] {
        var seen = Set<ListenAddress>()
        return vhosts.flatMap(\.listen).filter { seen.insert($0).inserted }
    }

    public var routeCount: Int { vhosts.reduce(0) { $0 + $1.routes.count } }

    /// The vhosts whose certificate the ACME helper obtains (`tls: { acme: true }`).
    /// Their exact names (`VirtualHost.exactNames`) are what a certificate is ordered for.
    public var acmeVHosts: [VirtualHost] { vhosts.filter { $0.tls?.acme == true } }

    /// The addresses that speak TLS (a listen entry ending in " tls").
    public var tlsAddresses: Set<ListenAddress> {
        Set(vhosts.flatMap(\.tlsListen))
    }
}

public struct ServerSettings: Sendable, Equatable {
    public enum WorkerCount: Sendable, Equatable {
        /// One worker per online CPU.
        case auto
        case fixed(Int)
    }

    public var workers = WorkerCount.auto
    /// Workers drop to this user (and group) when the master runs as root.
    public var user: String?
    public var group: String?
    public var pidFile: String?
    public var shutdownTimeout = Duration.seconds(30)
    /// Per worker; beyond it the worker stops accepting until one closes.
    public var maxConnections = 4096
    /// listen(2) backlog for sockets the master binds (nginx's default).
    public var backlog = 511
    /// Offer HTTP/2 (`h2`) by ALPN on TLS listeners, before `http/1.1`.
    public var http2 = true
    public var timeouts = Timeouts()
    public var limits = Limits()

    public init() {}
}

public struct Timeouts: Sendable, Equatable {
    /// To receive a complete request head → 408.
    public var header = Duration.seconds(10)
    /// Idle gap while reading a body → 408.
    public var body = Duration.seconds(60)
    /// An idle keep-alive connection is closed after this.
    public var keepalive = Duration.seconds(15)
    /// A client that takes none of a response's bytes for this long is
    /// dropped (nginx's send_timeout).
    public var send = Duration.seconds(60)
    /// Wall time of one script run → 504.
    public var script = Duration.seconds(30)

    public init() {}
}

public struct Limits: Sendable, Equatable {
    /// Request line + headers → 431 beyond it.
    public var maxHeaderSize = 16 * 1024
    /// Bodies on non-upload routes → 413 beyond it.
    public var maxBodySize = 1024 * 1024

    public init() {}
}

public struct LoggingSettings: Sendable, Equatable {
    public enum AccessLog: Sendable, Equatable {
        case off
        case stdout
        case file(String)
    }

    public enum ErrorLog: Sendable, Equatable {
        case stderr
        case file(String)
    }

    public enum Level: String, Sendable, Equatable, CaseIterable {
        case debug, info, warning, error
    }

    public enum Format: String, Sendable, Equatable, CaseIterable {
        case combined, json
    }

    /// stdout by default: under systemd it lands in the journal, and no
    /// log folder has to exist before the first start.
    public var accessLog = AccessLog.stdout
    public var errorLog = ErrorLog.stderr
    public var level = Level.info
    public var format = Format.combined

    public init() {}
}

/// A name a vhost answers to: exact (compared lowercased) or `*.suffix`,
/// which matches any name ending in `.suffix` but not `suffix` itself (as nginx).
public enum ServerName: Hashable, Sendable, CustomStringConvertible {
    case exact(String)
    case wildcard(suffix: String)

    public func matches(_ host: String) -> Bool {
        switch self {
        case .exact(let name):
            return host == name
        case .wildcard(let suffix):
            return host.count > suffix.count + 1 && host.hasSuffix("." + suffix)
        }
    }

    public var description: String {
        switch self {
        case .exact(let name): return name
        case .wildcard(let suffix): return "*." + suffix
        }
    }
}

public struct VirtualHost: Sendable {
    public var names: [ServerName] = []
    /// The names that are not wildcards, as written (lowercase), in order.
    public var exactNames: [String] {
        names.compactMap { name in
            if case .exact(let host) = name { return host }
            return nil
        }
    }
    /// Fallback for unknown Host on its listeners; else the first vhost listed there is.
    public var isDefault = false
    public var listen: [ListenAddress] = []
    /// Those of `listen` written with " tls".
    public var tlsListen: Set<ListenAddress> = []
    /// The `tls:` block, if any.
    public var tls: TLSSettings?
    /// Absolute, lexically normalised; the worker resolves symlinks itself.
    public var root = ""
    public var index = ["index.html"]
    /// Status code → path under root (starting with "/").
    public var errorPages: [Int: String] = [:]
    /// In file order; the router picks the longest matching prefix.
    public var routes: [Route] = []
    /// Where the vhost and its values were written, for messages after decoding.
    public var marks = Marks()

    public struct Marks: Sendable {
        public var vhost = Mark.start
        /// Parallel to `names`.
        public var names: [Mark] = []
        public var isDefault: Mark?
        /// Parallel to `listen`.
        public var listen: [Mark] = []
        public var root = Mark.start
        /// Status code → where its error page was named.
        public var errorPages: [Int: Mark] = [:]
    }

    public init() {}

    /// The name used in access logs: the first name, or "-" when it has none.
    public var logName: String { names.first.map(\.description) ?? "-" }
}

public struct Route: Sendable {
    public enum Kind: Sendable, Equatable {
        case `static`(StaticRoute)
        case upload(UploadRoute)
        case script(ScriptRoute)

        public var name: String {
            switch self {
            case .static: return "static"
            case .upload: return "upload"
            case .script: return "script"
            }
        }
    }

    /// A URL path prefix starting with "/".
    public var path: String
    public var kind: Kind
    /// Where the path was written.
    public var mark: Mark
    /// Where an upload or script route's `dir` was written (or the path's mark for a default dir).
    public var dirMark: Mark
    /// Where each interpreter was named, by extension (".py").
    public var interpreterMarks: [String: Mark] = [:]

    public init(path: String, kind: Kind, mark: Mark = .start, dirMark: Mark? = nil) {
        self.path = path
        self.kind = kind
        self.mark = mark
        self.dirMark = dirMark ?? mark
    }
}

public struct StaticRoute: Sendable, Equatable {
    public var autoindex = false
    /// Serve FILE.br / FILE.gz when the client accepts them (nginx's gzip_static is off by default too).
    public var precompressed = false
    public var cacheControl: String?

    public init() {}
}

public struct UploadRoute: Sendable, Equatable {
    /// Absolute folder the files are stored in.
    public var dir = ""
    /// The whole request body.
    public var maxSize = 10 * 1024 * 1024
    public var maxFiles = 10
    /// Parts of any kind (files and fields) in one request → 413 beyond it:
    /// each costs bookkeeping, so their number is bounded, not only their bytes.
    public var maxParts = 1000
    /// MIME patterns such as `image/*`; empty accepts any type.
    public var accept: [String] = []
    /// Write a sidecar NAME.json (in the folder's `.meta/`) for each stored file.
    public var metadata = true
    /// 303 here after success instead of a 201 JSON answer.
    public var redirect: String?

    public init() {}
}

public struct ScriptRoute: Sendable, Equatable {
    public enum Output: String, Sendable, Equatable, CaseIterable {
        /// An RFC 3875 header block, then the body.
        case cgi
        /// All of stdout is the body, sent with `contentType`.
        case body
    }

    /// Absolute folder holding the scripts (default: root + route path).
    public var dir = ""
    /// Extension with its dot (".py") → interpreter command.
    public var interpreters: [String: String] = [:]
    public var output = Output.cgi
    public var contentType: String?
    /// Added to the CGI environment.
    public var env: [String: String] = [:]
    /// Scripts running at once per worker; beyond it 503 + Retry-After.
    public var maxConcurrent = 64

    public init() {}
}
