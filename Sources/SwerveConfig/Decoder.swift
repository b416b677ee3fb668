/// Node tree → `Config`. Reports every problem it meets and goes on, as a
/// compiler does; what it could not decode keeps its default.
/// Cross-field and file-system rules live in Validation.swift.
struct ConfigDecoder {
    var reader: NodeReader
    private var config: Config

    init(file: String, directory: String) {
        reader = NodeReader(diagnostics: Diagnostics(file: file))
        config = Config(file: file, directory: directory)
    }

    static let topKeys = ["server", "logging", "acme", "default_type", "mime_types", "vhosts"]
    static let serverKeys = [
        "workers", "user", "group", "pid_file", "shutdown_timeout", "max_connections", "backlog", "http2", "timeouts", "limits",
    ]
    static let timeoutKeys = ["header", "body", "keepalive", "send", "script"]
    static let limitKeys = ["max_header_size", "max_body_size"]
    static let loggingKeys = ["access_log", "error_log", "level", "format"]
    static let vhostKeys = ["names", "default", "listen", "root", "index", "error_pages", "routes", "tls"]
    static let tlsKeys = ["certificate", "key", "acme", "redirect_http", "hsts"]
    static let acmeKeys = ["email", "directory", "ca_roots", "storage", "challenge", "renew_before"]
    static let routeKeys = ["path", "type"]
    static let routeTypeKeys: [(type: String, keys: [String])] = [
        ("static", ["autoindex", "precompressed", "cache_control"]),
        ("upload", ["dir", "max_size", "max_files", "max_parts", "accept", "metadata", "redirect"]),
        ("script", ["dir", "interpreters", "output", "content_type", "env", "max_concurrent"]),
    ]

    /// Decodes a whole document; `nil` (an empty file) is an error too.
    mutating func decode(_ root: Node?) -> (Config, Diagnostics) {
        guard let root else {
            reader.diagnostics.error("the config is empty; it needs at least a 'vhosts' list", at: .start)
            return (config, reader.diagnostics)
        }
        if let top = reader.fields(root, of: "the config", known: Self.topKeys) {
            if let node = top["server"] { decodeServer(node) }
            if let node = top["logging"] { decodeLogging(node) }
            if let node = top["acme"] { config.acme = decodeACME(node) }
            decodeMIMETypes(defaultType: top["default_type"], overrides: top["mime_types"])
            if let node = top["vhosts"] {
                decodeVHosts(node)
            } else {
                reader.diagnostics.error("missing key 'vhosts': the config must define at least one virtual host", at: root.mark)
            }
        }
        return (config, reader.diagnostics)
    }

    // MARK: server

    private mutating func decodeServer(_ node: Node) {
        guard let fields = reader.fields(node, of: "server", known: Self.serverKeys) else { return }
        var server = ServerSettings()
        if let node = fields["workers"] {
            if node.scalar == "auto" {
                server.workers = .auto
            } else if let count = reader.int(node, "workers", in: 1...1024) {
                server.workers = .fixed(count)
            }
        }
        if let node = fields["user"] { server.user = reader.word(node, "user") }
        if let node = fields["group"] { server.group = reader.word(node, "group") }
        if let node = fields["pid_file"] { server.pidFile = path(node, "pid_file") }
        for key in ["user", "group", "pid_file"] { config.settingMarks["server." + key] = fields[key]?.mark }
        if let node = fields["shutdown_timeout"], let value = reader.duration(node, "shutdown_timeout") {
            server.shutdownTimeout = value
        }
        if let node = fields["max_connections"], let value = reader.int(node, "max_connections", in: 1...1_000_000) {
            server.maxConnections = value
        }
        if let node = fields["backlog"], let value = reader.int(node, "backlog", in: 1...65535) {
            server.backlog = value
        }
        if let node = fields["http2"], let value = reader.bool(node, "http2") { server.http2 = value }
        if let node = fields["timeouts"], let timeouts = reader.fields(node, of: "server.timeouts", known: Self.timeoutKeys) {
            if let node = timeouts["header"], let value = reader.duration(node, "header") { server.timeouts.header = value }
            if let node = timeouts["body"], let value = reader.duration(node, "body") { server.timeouts.body = value }
            if let node = timeouts["keepalive"], let value = reader.duration(node, "keepalive") { server.timeouts.keepalive = value }
            if let node = timeouts["send"], let value = reader.duration(node, "send") { server.timeouts.send = value }
            if let node = timeouts["script"], let value = reader.duration(node, "script") { server.timeouts.script = value }
        }
        if let node = fields["limits"], let limits = reader.fields(node, of: "server.limits", known: Self.limitKeys) {
            if let node = limits["max_header_size"], let value = reader.size(node, "max_header_size", in: 1024...(1 << 20)) {
                server.limits.maxHeaderSize = value
            }
            if let node = limits["max_body_size"], let value = reader.size(node, "max_body_size", in: 0...(1 << 40)) {
                server.limits.maxBodySize = value
            }
        }
        config.server = server
    }

    // MARK: logging

    private mutating func decodeLogging(_ node: Node) {
        guard let fields = reader.fields(node, of: "logging", known: Self.loggingKeys) else { return }
        if let node = fields["access_log"], let text = reader.word(node, "access_log") {
            switch text {
            case "off": config.logging.accessLog = .off
            case "stdout": config.logging.accessLog = .stdout
            default: config.logging.accessLog = .file(resolve(text))
            }
        }
        if let node = fields["error_log"], let text = reader.word(node, "error_log") {
            config.logging.errorLog = text == "stderr" ? .stderr : .file(resolve(text))
        }
        for key in ["access_log", "error_log"] { config.settingMarks["logging." + key] = fields[key]?.mark }
        if let node = fields["level"] {
            // nginx spells it "warn"; accept that too.
            config.logging.level = node.scalar == "warn" ? .warning : choice(node, "level") ?? config.logging.level
        }
        if let node = fields["format"] { config.logging.format = choice(node, "format") ?? config.logging.format }
    }

    // MARK: MIME types

    private mutating func decodeMIMETypes(defaultType: Node?, overrides: Node?) {
        var fallback = MIMETypes().defaultType
        if let node = defaultType, let text = mediaType(node, "default_type") { fallback = text }
        var table: [String: String] = [:]
        if let node = overrides, let entries = reader.stringMap(node, "mime_types") {
            for (key, value) in entries {
                let ext = key.scalar ?? ""
                let bare = ext.hasPrefix(".") ? String(ext.dropFirst()) : ext
                if bare.isEmpty || bare.contains("/") || bare.contains(".") {
                    reader.diagnostics.error("'\(ext)' is not a file extension (write it as '.webp')", at: key.mark)
                    continue
                }
                guard MIMETypes.isValidMediaType(value) else {
                    reader.diagnostics.error("'\(value)' is not a media type (write it as 'type/subtype')", at: key.mark)
                    continue
                }
                table[bare] = value
            }
        }
        config.mimeTypes = MIMETypes(overrides: table, defaultType: fallback)
    }

    // MARK: vhosts

    private mutating func decodeVHosts(_ node: Node) {
        guard case .sequence(let items) = node.kind else {
            reader.diagnostics.error("'vhosts' must be a list of virtual hosts, found \(node.kindDescription)", at: node.mark)
            return
        }
        if items.isEmpty {
            reader.diagnostics.error("'vhosts' is empty: the config must define at least one virtual host", at: node.mark)
        }
        for item in items {
            if let vhost = decodeVHost(item) { config.vhosts.append(vhost) }
        }
    }

    private mutating func decodeVHost(_ node: Node) -> VirtualHost? {
        guard let fields = reader.fields(node, of: "a vhost", known: Self.vhostKeys) else { return nil }
        var vhost = VirtualHost()
        vhost.marks.vhost = node.mark
        if let list = fields["names"].flatMap({ reader.list($0, "names") }) {
            for item in list {
                if let name = serverName(item) {
                    vhost.names.append(name)
                    vhost.marks.names.append(item.mark)
                }
            }
        }
        if let node = fields["default"], let flag = reader.bool(node, "default") {
            vhost.isDefault = flag
            vhost.marks.isDefault = node.mark
        }
        if let list = required(fields, "listen", in: "a vhost", at: node.mark).flatMap({ reader.list($0, "listen") }) {
            for item in list {
                guard let text = reader.string(item, "listen") else { continue }
                do {
                    let entry = try ListenAddress.parseEntry(text)
                    for address in entry.addresses where !vhost.listen.contains(address) {
                        vhost.listen.append(address)
                        vhost.marks.listen.append(item.mark)
                    }
                    if entry.tls { vhost.tlsListen.formUnion(entry.addresses) }
                } catch {
                    reader.diagnostics.error(error.message, at: item.mark)
                }
            }
        }
        if let node = required(fields, "root", in: "a vhost", at: node.mark), let root = path(node, "root") {
            vhost.root = root
            vhost.marks.root = node.mark
        }
        if let list = fields["index"].flatMap({ reader.list($0, "index") }) {
            vhost.index = list.compactMap { item in
                guard let name = reader.word(item, "index") else { return nil }
                if name.contains("/") {
                    reader.diagnostics.error("index entries are file names, '\(name)' contains a '/'", at: item.mark)
                    return nil
                }
                return name
            }
        }
        if let node = fields["error_pages"], let pages = reader.stringMap(node, "error_pages") {
            for (key, page) in pages {
                guard let code = key.scalar.flatMap({ Int($0) }), (300...599).contains(code) else {
                    reader.diagnostics.error("error_pages keys are status codes from 300 to 599, found '\(key.scalar ?? "")'", at: key.mark)
                    continue
                }
                guard page.hasPrefix("/") else {
                    reader.diagnostics.error("error page '\(page)' must be a path under the root starting with '/'", at: key.mark)
                    continue
                }
                vhost.errorPages[code] = page
                vhost.marks.errorPages[code] = key.mark
            }
        }
        if let node = fields["tls"] { vhost.tls = decodeTLS(node) }
        if let node = fields["routes"] {
            decodeRoutes(node, into: &vhost)
        } else {
            vhost.routes = [Route(path: "/", kind: .static(StaticRoute()), mark: node.mark)]
        }
        return vhost
    }

    private mutating func serverName(_ node: Node) -> ServerName? {
        guard let text = reader.word(node, "names") else { return nil }
        let name = text.lowercased()
        let allowed = name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || "0123456789-._:[]*".unicodeScalars.contains($0) }
        if name.hasPrefix("*.") {
            let suffix = String(name.dropFirst(2))
            if !suffix.isEmpty, !suffix.contains("*"), allowed { return .wildcard(suffix: suffix) }
        } else if !name.contains("*"), allowed {
            return .exact(name)
        }
        reader.diagnostics.error(
            "invalid name '\(text)' (a host name, an address, or '*.example.com' with the wildcard in front)", at: node.mark)
        return nil
    }

    // MARK: routes

    private mutating func decodeRoutes(_ node: Node, into vhost: inout VirtualHost) {
        guard case .sequence(let items) = node.kind else {
            reader.diagnostics.error("'routes' must be a list, found \(node.kindDescription)", at: node.mark)
            return
        }
        var seen: [String: Mark] = [:]
        for item in items {
            guard let route = decodeRoute(item, root: vhost.root) else { continue }
            if let first = seen[route.path] {
                reader.diagnostics.error("duplicate route path '\(route.path)' in this vhost (first at \(first))", at: route.mark)
                continue
            }
            seen[route.path] = route.mark
            vhost.routes.append(route)
        }
    }

    private mutating func decodeRoute(_ node: Node, root: String) -> Route? {
        guard let type = routeType(node) else {
            // Without a valid type only the key names can be checked.
            _ = reader.fields(node, of: "a route", known: Self.routeKeys + Self.routeTypeKeys.flatMap(\.keys))
            return nil
        }
        let ownKeys = Self.routeTypeKeys.first { $0.type == type }!.keys
        var owners: [String: [String]] = [:]
        for (other, keys) in Self.routeTypeKeys where other != type {
            for key in keys where !ownKeys.contains(key) { owners[key, default: []].append(other) }
        }
        let misplaced = owners.mapValues { "it is an option of \($0.joined(separator: " and ")) routes" }
        guard let fields = reader.fields(node, of: (type == "upload" ? "an " : "a ") + "\(type) route", known: Self.routeKeys + ownKeys, misplaced: misplaced) else {
            return nil
        }
        guard let pathNode = required(fields, "path", in: "a route", at: node.mark) else { return nil }
        guard let path = reader.word(pathNode, "path") else { return nil }
        guard path.hasPrefix("/") else {
            reader.diagnostics.error("route path '\(path)' must start with '/'", at: pathNode.mark)
            return nil
        }
        switch type {
        case "static":
            return Route(path: path, kind: .static(decodeStatic(fields)), mark: pathNode.mark)
        case "upload":
            guard let dirNode = required(fields, "dir", in: "an upload route", at: node.mark) else { return nil }
            let upload = decodeUpload(fields, dir: dirNode)
            return Route(path: path, kind: .upload(upload), mark: pathNode.mark, dirMark: dirNode.mark)
        default:
            // Without a root (already an error) there is no default dir to check.
            let defaultDir = root.isEmpty ? "" : FileSystem.resolve("." + path, relativeTo: root)
            var marks: [String: Mark] = [:]
            let script = decodeScript(fields, defaultDir: defaultDir, marks: &marks)
            var route = Route(path: path, kind: .script(script), mark: pathNode.mark, dirMark: fields["dir"]?.mark ?? pathNode.mark)
            route.interpreterMarks = marks
            return route
        }
    }

    private mutating func decodeStatic(_ fields: Fields) -> StaticRoute {
        var route = StaticRoute()
        if let node = fields["autoindex"], let value = reader.bool(node, "autoindex") { route.autoindex = value }
        if let node = fields["precompressed"], let value = reader.bool(node, "precompressed") { route.precompressed = value }
        if let node = fields["cache_control"], let value = reader.word(node, "cache_control") { route.cacheControl = value }
        return route
    }

    private mutating func decodeUpload(_ fields: Fields, dir: Node) -> UploadRoute {
        var route = UploadRoute()
        route.dir = path(dir, "dir") ?? ""
        if let node = fields["max_size"], let value = reader.size(node, "max_size", in: 1...(1 << 40)) { route.maxSize = value }
        if let node = fields["max_files"], let value = reader.int(node, "max_files", in: 1...10_000) { route.maxFiles = value }
        if let node = fields["max_parts"], let value = reader.int(node, "max_parts", in: 1...1_000_000) { route.maxParts = value }
        if let list = fields["accept"].flatMap({ reader.list($0, "accept") }) {
            route.accept = list.compactMap { item in
                guard let pattern = reader.word(item, "accept") else { return nil }
                let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                      MIMETypes.isValidMediaType(String(pattern.map { $0 == "*" ? "x" : $0 }))
                else {
                    reader.diagnostics.error("'\(pattern)' is not a MIME pattern (e.g. 'image/*' or 'application/pdf')", at: item.mark)
                    return nil
                }
                return pattern.lowercased()
            }
        }
        if let node = fields["metadata"], let value = reader.bool(node, "metadata") { route.metadata = value }
        if let node = fields["redirect"], let value = reader.word(node, "redirect") {
            if value.hasPrefix("/") || value.hasPrefix("http://") || value.hasPrefix("https://") {
                route.redirect = value
            } else {
                reader.diagnostics.error("'redirect' must be a path starting with '/' or an http(s) URL, found '\(value)'", at: node.mark)
            }
        }
        return route
    }

    private mutating func decodeScript(_ fields: Fields, defaultDir: String, marks: inout [String: Mark]) -> ScriptRoute {
        var route = ScriptRoute()
        route.dir = fields["dir"].flatMap { path($0, "dir") } ?? defaultDir
        if let node = fields["interpreters"], let entries = reader.stringMap(node, "interpreters") {
            for (key, command) in entries {
                let ext = (key.scalar ?? "").lowercased()
                let dotted = ext.hasPrefix(".") ? ext : "." + ext
                guard dotted.count > 1, !dotted.dropFirst().contains("."), !dotted.contains("/") else {
                    reader.diagnostics.error("'\(ext)' is not a file extension (write it as '.py')", at: key.mark)
                    continue
                }
                // Blank counts as empty: "  " would split into no words at all.
                guard command.contains(where: { $0 != " " && $0 != "\t" }) else {
                    reader.diagnostics.error("the interpreter for '\(dotted)' is empty", at: key.mark)
                    continue
                }
                route.interpreters[dotted] = command
                marks[dotted] = key.mark
            }
        }
        if let node = fields["output"] { route.output = choice(node, "output") ?? route.output }
        if let node = fields["content_type"] { route.contentType = mediaType(node, "content_type") }
        if let node = fields["env"], let entries = reader.stringMap(node, "env") {
            for (key, value) in entries {
                let name = key.scalar ?? ""
                guard isEnvironmentName(name) else {
                    reader.diagnostics.error("'\(name)' is not an environment variable name (letters, digits, '_')", at: key.mark)
                    continue
                }
                route.env[name] = value
            }
        }
        if let node = fields["max_concurrent"], let value = reader.int(node, "max_concurrent", in: 1...100_000) {
            route.maxConcurrent = value
        }
        return route
    }

    // MARK: helpers

    /// The route's `type`, reported when missing or unknown.
    private mutating func routeType(_ node: Node) -> String? {
        guard case .mapping(let pairs) = node.kind else { return nil }
        guard let pair = pairs.first(where: { $0.key.scalar == "type" }) else {
            reader.diagnostics.error("missing key 'type' in a route (static, upload or script)", at: node.mark)
            return nil
        }
        let types = Self.routeTypeKeys.map(\.type)
        if let name = pair.value.scalar, types.contains(name) { return name }
        let shown = pair.value.scalar ?? pair.value.kindDescription
        let hint = pair.value.scalar.flatMap { suggestion(for: $0, among: types) }.map { "; did you mean '\($0)'?" } ?? ""
        reader.diagnostics.error("unknown route type '\(shown)' (use static, upload or script)\(hint)", at: pair.value.mark)
        return nil
    }

    /// A key that must be present with a value.
    mutating func required(_ fields: Fields, _ key: String, in section: String, at mark: Mark) -> Node? {
        if let node = fields[key] { return node }
        if let keyMark = fields.keyMark(key) {
            reader.diagnostics.error("'\(key)' has no value", at: keyMark)
        } else {
            reader.diagnostics.error("missing key '\(key)' in \(section)", at: mark)
        }
        return nil
    }

    private func resolve(_ text: String) -> String {
        FileSystem.resolve(text, relativeTo: config.directory)
    }

    mutating func path(_ node: Node, _ name: String) -> String? {
        reader.word(node, name).map(resolve)
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ name: String) -> T? where T.RawValue == String {
        guard let text = reader.string(node, name) else { return nil }
        if let value = T(rawValue: text) { return value }
        let options = T.allCases.map(\.rawValue)
        let hint = suggestion(for: text, among: options).map { "; did you mean '\($0)'?" } ?? ""
        reader.diagnostics.error("'\(name)' must be one of \(options.joined(separator: ", ")), found '\(text)'\(hint)", at: node.mark)
        return nil
    }

    private mutating func mediaType(_ node: Node, _ name: String) -> String? {
        guard let text = reader.word(node, name) else { return nil }
        guard MIMETypes.isValidMediaType(text) else {
            reader.diagnostics.error("'\(name)' must be a media type such as 'text/html', found '\(text)'", at: node.mark)
            return nil
        }
        return text
    }

    private func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}
