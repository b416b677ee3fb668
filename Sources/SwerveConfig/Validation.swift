import Glibc

/// Rules that span several values or look at the file system: run after
/// decoding, on everything that decoded, adding to the same diagnostics.
package struct ConfigValidator {
    let config: Config
    var diagnostics: Diagnostics

    package init(config: Config, diagnostics: Diagnostics) {
        self.config = config
        self.diagnostics = diagnostics
    }

    package mutating func validate() -> Diagnostics {
        checkProcessSettings()
        for vhost in config.vhosts {
            checkFolders(of: vhost)
            checkErrorPages(of: vhost)
        }
        checkUploadDirsOutsideScriptDirs()
        checkListeners()
        checkTLS()
        checkACME()
        return diagnostics
    }

    // MARK: files and folders

    private mutating func checkProcessSettings() {
        if let user = config.server.user, getpwnam(user) == nil {
            diagnostics.error("server.user '\(user)' does not exist on this system", at: config.mark(of: "server.user"))
        }
        if let group = config.server.group, getgrnam(group) == nil {
            diagnostics.error("server.group '\(group)' does not exist on this system", at: config.mark(of: "server.group"))
        }
        if case .file(let path) = config.logging.accessLog { checkParentFolder(path, "logging.access_log") }
        if case .file(let path) = config.logging.errorLog { checkParentFolder(path, "logging.error_log") }
        if let path = config.server.pidFile { checkParentFolder(path, "server.pid_file") }
    }

    private mutating func checkParentFolder(_ path: String, _ name: String) {
        let folder = FileSystem.parent(of: path)
        if FileSystem.kind(of: folder) != .directory {
            diagnostics.error("\(name) '\(path)': folder '\(folder)' does not exist", at: config.mark(of: name))
        }
    }

    private mutating func checkFolders(of vhost: VirtualHost) {
        if !vhost.root.isEmpty { checkFolder(vhost.root, "root", at: vhost.marks.root, access: R_OK | X_OK) }
        for route in vhost.routes {
            switch route.kind {
            case .upload(let upload):
                checkFolder(upload.dir, "upload dir", at: route.dirMark, access: X_OK)
                checkWritable(upload.dir, at: route.dirMark)
            case .script(let script):
                checkFolder(script.dir, "script dir", at: route.dirMark, access: R_OK | X_OK)
                checkInterpreters(script, marks: route.interpreterMarks, fallback: route.dirMark)
            case .static:
                break
            }
        }
    }

    private mutating func checkFolder(_ path: String, _ name: String, at mark: Mark, access mode: Int32) {
        guard !path.isEmpty else { return }
        switch FileSystem.kind(of: path) {
        case .directory:
            if !FileSystem.isAccessible(path, mode: mode) {
                diagnostics.error("\(name) '\(path)' is not readable: \(FileSystem.errnoText())", at: mark)
            }
        case .missing:
            diagnostics.error("\(name) '\(path)' does not exist", at: mark)
        case .file, .other:
            diagnostics.error("\(name) '\(path)' is not a folder", at: mark)
        }
    }

    /// An upload dir this process cannot write to. Under the shipped unit the
    /// master runs as the service's user inside systemd's sandbox, where only
    /// `ReadWritePaths=` are writable — and systemd applies them at start
    /// only: a reload cannot make a new folder writable, a restart must.
    private mutating func checkWritable(_ path: String, at mark: Mark) {
        guard !path.isEmpty, FileSystem.kind(of: path) == .directory, !FileSystem.isAccessible(path, mode: W_OK) else { return }
        let code = errno
        if code == EROFS {
            diagnostics.error("upload dir '\(path)' is not writable: read-only file system (under systemd: add it to ReadWritePaths= with 'systemctl edit swerve', then 'systemctl restart swerve'; a reload cannot widen the sandbox)", at: mark)
        } else if code == EACCES {
            diagnostics.error("upload dir '\(path)' is not writable by user '\(FileSystem.userName(getuid()))' (uid \(getuid())), who runs this check", at: mark)
        }
    }

    /// A missing interpreter is only a warning: the route still serves its
    /// other files, and the interpreter may be installed before requests come.
    private mutating func checkInterpreters(_ script: ScriptRoute, marks: [String: Mark], fallback: Mark) {
        let searchPath = script.env["PATH"] ?? (getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin")
        for (ext, command) in script.interpreters.sorted(by: { $0.key < $1.key }) {
            let program = String(command.split(separator: " ").first ?? "")
            if FileSystem.findExecutable(program, searchPath: searchPath) == nil {
                diagnostics.warning("interpreter '\(program)' for '\(ext)' scripts is not found on PATH", at: marks[ext] ?? fallback)
            }
        }
    }

    private mutating func checkErrorPages(of vhost: VirtualHost) {
        guard !vhost.root.isEmpty, FileSystem.kind(of: vhost.root) == .directory else { return }
        for (code, page) in vhost.errorPages.sorted(by: { $0.key < $1.key }) {
            let file = FileSystem.resolve("." + page, relativeTo: vhost.root)
            let mark = vhost.marks.errorPages[code] ?? vhost.marks.vhost
            if !file.hasPrefix(vhost.root + "/") {
                diagnostics.error("error page for \(code) '\(page)' lies outside the root", at: mark)
            } else if FileSystem.kind(of: file) != .file {
                diagnostics.error("error page for \(code) '\(page)' does not exist under the root ('\(file)')", at: mark)
            } else if !FileSystem.resolves(file, inside: vhost.root) {
                // A symlink to /etc/passwd would be served with every 404: the rule for static files holds here too.
                diagnostics.error("error page for \(code) '\(page)' leads outside the root through a symlink", at: mark)
            }
        }
    }

    /// An upload that lands where scripts run would be executable by anyone
    /// who can upload: refused, whichever vhosts the two routes belong to.
    private mutating func checkUploadDirsOutsideScriptDirs() {
        let routes = config.vhosts.flatMap(\.routes)
        let scriptDirs = routes.compactMap { route -> String? in
            guard case .script(let script) = route.kind else { return nil }
            return FileSystem.realPath(script.dir) ?? script.dir
        }
        for route in routes {
            guard case .upload(let upload) = route.kind, !upload.dir.isEmpty else { continue }
            let dir = FileSystem.realPath(upload.dir) ?? upload.dir
            if let scriptDir = scriptDirs.first(where: { dir == $0 || dir.hasPrefix($0 == "/" ? "/" : $0 + "/") }) {
                diagnostics.error("upload dir '\(upload.dir)' lies inside script dir '\(scriptDir)': uploaded files could be run", at: route.dirMark)
            }
        }
    }

    // MARK: listeners

    /// One claim of a name or of "default" on one listening address.
    private struct Claim {
        var vhost: Int
        var mark: Mark
    }

    private mutating func checkListeners() {
        var names: [ListenAddress: [ServerName: Claim]] = [:]
        var defaults: [ListenAddress: Claim] = [:]
        var reported = Set<Mark>()
        for (index, vhost) in config.vhosts.enumerated() {
            for address in vhost.listen {
                for (name, mark) in zip(vhost.names, vhost.marks.names) {
                    if let first = names[address]?[name], first.vhost != index {
                        report("name '\(name)' is already claimed on \(address) by the vhost at \(first.mark)", at: mark, &reported)
                    } else {
                        names[address, default: [:]][name] = Claim(vhost: index, mark: mark)
                    }
                }
                if vhost.isDefault, let mark = vhost.marks.isDefault {
                    if let first = defaults[address], first.vhost != index {
                        report("a second 'default: true' on \(address) (the first is at \(first.mark))", at: mark, &reported)
                    } else {
                        defaults[address] = Claim(vhost: index, mark: mark)
                    }
                }
            }
        }
        checkWildcardOverlaps()
    }

    /// A port bound on the wildcard address cannot also be bound on one
    /// address of the same family: we refuse the mix rather than guess.
    private mutating func checkWildcardOverlaps() {
        var wildcards: [ListenAddress: Mark] = [:]
        for vhost in config.vhosts {
            for (address, mark) in zip(vhost.listen, vhost.marks.listen) where address.isWildcard {
                wildcards[address] = wildcards[address] ?? mark
            }
        }
        var reported = Set<Mark>()
        for vhost in config.vhosts {
            for (address, mark) in zip(vhost.listen, vhost.marks.listen) where !address.isWildcard {
                let any = ListenAddress(host: address.family == .ipv4 ? "0.0.0.0" : "::", port: address.port, family: address.family)
                if let first = wildcards[any] {
                    report(
                        "\(address) overlaps \(any) (at \(first)): listen on the same address in every vhost of port \(address.port)",
                        at: mark, &reported)
                }
            }
        }
    }

    /// Bare ports expand to two addresses; each place is reported once.
    mutating func report(_ message: String, at mark: Mark, _ reported: inout Set<Mark>) {
        guard reported.insert(mark).inserted else { return }
        diagnostics.error(message, at: mark)
    }
}
