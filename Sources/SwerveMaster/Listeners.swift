import Glibc
import Logging
import SwerveConfig
import SwerveWorker

/// Binds listening sockets the way nginx does: SO_REUSEADDR, IPV6_V6ONLY on
/// IPv6 (so a bare port binds both families side by side), non-blocking and
/// close-on-exec (CGI children must never inherit them), backlog from config.
public enum Listeners {
    public struct Failure: Error, CustomStringConvertible {
        public var address: ListenAddress
        public var reason: String
        public var description: String { "cannot listen on \(address): \(reason)" }
    }

    public static func bind(_ address: ListenAddress, backlog: Int) throws(Failure) -> Int32 {
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(address: address, reason: FileSystem.errnoText()) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if address.family == .ipv6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound: Int32
        switch address.family {
        case .ipv4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = in_port_t(UInt16(address.port).bigEndian)
            inet_pton(AF_INET, address.host, &sin.sin_addr)
            bound = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = in_port_t(UInt16(address.port).bigEndian)
            inet_pton(AF_INET6, address.host, &sin6.sin6_addr)
            bound = withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard bound == 0, listen(fd, Int32(backlog)) == 0 else {
            let reason = FileSystem.errnoText()
            close(fd)
            throw Failure(address: address, reason: reason)
        }
        return fd
    }

}

/// Every listening socket the master holds, by address. Sockets are bound
/// once and kept across reloads while some config still names them; new
/// addresses are bound on reload, unused ones closed once no generation
/// serves them. Sockets handed over by systemd are adopted instead of bound.
struct ListenerSet {
    private var sockets: [ListenAddress: Int32] = [:]
    /// Each socket's listen(2) backlog, which workers restore after NIO's listen.
    private var backlogs: [ListenAddress: Int32] = [:]
    private let backlog: Int
    private let logger: Logger

    init(config: Config, logger: Logger) throws(MasterError) {
        self.backlog = config.server.backlog
        self.logger = logger
        adoptSystemdSockets(wanted: Set(config.listenAddresses))
        _ = try bindMissing(for: config)
    }

    var descriptors: [Int32] { Array(sockets.values) }
    var addresses: Dictionary<ListenAddress, Int32>.Keys { sockets.keys }

    /// The sockets a generation with `config` serves, in the config's order.
    func inherited(for config: Config) -> [InheritedListener] {
        config.listenAddresses.compactMap { address in
            sockets[address].map { InheritedListener(address: address, descriptor: $0, backlog: backlogs[address] ?? Int32(backlog)) }
        }
    }

    /// Binds the addresses of `config` not held yet; all or nothing.
    mutating func bindMissing(for config: Config) throws(MasterError) -> [ListenAddress] {
        var bound: [ListenAddress] = []
        for address in config.listenAddresses where sockets[address] == nil {
            do {
                sockets[address] = try Listeners.bind(address, backlog: config.server.backlog)
                backlogs[address] = Int32(config.server.backlog)
                bound.append(address)
            } catch {
                close(bound)
                throw .message(error.description)
            }
        }
        return bound
    }

    mutating func close(_ addresses: [ListenAddress]) {
        for address in addresses {
            if let fd = sockets.removeValue(forKey: address) { Glibc.close(fd) }
            backlogs[address] = nil
        }
    }

    /// Closes the sockets no remaining config listens on.
    mutating func closeUnused(keeping configs: [Config]) {
        let used = Set(configs.flatMap(\.listenAddresses))
        let unused = sockets.keys.filter { !used.contains($0) }
        for address in unused { logger.info("closing listener \(address)") }
        close(Array(unused))
    }

    /// `LISTEN_FDS` / `LISTEN_PID` (sd_listen_fds): sockets from 3 on, matched
    /// to configured addresses by getsockname. The variables are removed so
    /// that workers and scripts never see them.
    private mutating func adoptSystemdSockets(wanted: Set<ListenAddress>) {
        defer { unsetenv("LISTEN_FDS"); unsetenv("LISTEN_PID"); unsetenv("LISTEN_FDNAMES") }
        guard let pidText = getenv("LISTEN_PID").map({ String(cString: $0) }), pid_t(pidText) == getpid(),
              let countText = getenv("LISTEN_FDS").map({ String(cString: $0) }), let count = Int32(countText), count > 0
        else { return }
        for fd in 3..<(3 + count) {
            guard let address = Listeners.localAddress(of: fd), wanted.contains(address), sockets[address] == nil else {
                logger.warning("closing socket \(fd) from systemd: no vhost listens on its address")
                Glibc.close(fd)
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            sockets[address] = fd
            backlogs[address] = Listeners.backlog(of: fd)
            logger.info("adopted listener \(address) from systemd")
        }
    }
}

extension Listeners {
    /// A listening TCP socket's backlog as set by whoever called listen(2)
    /// (systemd's `Backlog=`): Linux reports it in `tcpi_sacked` for sockets
    /// in LISTEN state, which is what `ss -ltn` shows as Send-Q.
    static func backlog(of fd: Int32) -> Int32? {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0, info.tcpi_sacked > 0 else { return nil }
        return Int32(clamping: info.tcpi_sacked)
    }

    private static func string(_ text: [CChar]) -> String {
        String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address a socket is bound to, as a `ListenAddress`.
    static func localAddress(of fd: Int32) -> ListenAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var address = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
                    return ListenAddress(host: Self.string(text), port: Int(UInt16(bigEndian: sin.pointee.sin_port)), family: .ipv4)
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var address = sin6.pointee.sin6_addr
                    inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
                    return ListenAddress(host: Self.string(text), port: Int(UInt16(bigEndian: sin6.pointee.sin6_port)), family: .ipv6)
                }
            }
        default:
            return nil
        }
    }
}
