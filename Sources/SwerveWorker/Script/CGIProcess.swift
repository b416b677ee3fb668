import CSwerveShims
import Glibc

/// A started CGI script: its pid (also its process group id) and the
/// parent's ends of its three pipes, which the caller hands to NIO.
struct CGIProcess {
    let pid: pid_t
    /// Write end of the script's stdin; -1 when it reads /dev/null (no request body).
    let stdin: Int32
    /// Read end of the script's stdout.
    let stdout: Int32
    /// Read end of the script's stderr.
    let stderr: Int32

    struct SpawnError: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// Starts `arguments[0]` (an absolute path) with `environment` exactly,
    /// in `directory`, as the leader of a new process group (so a timeout or
    /// a client gone kills whatever it started too), with default signal
    /// dispositions and an empty mask (the worker ignores SIGPIPE, QUIT, TERM…),
    /// and no descriptor of the worker's other than the three pipes. Without
    /// `input` the script's stdin is /dev/null: one pipe and one channel less
    /// for the common request without a body.
    ///
    /// posix_spawn, not fork: the worker has threads, and glibc's posix_spawn
    /// (clone with CLONE_VFORK) is the safe way to start a program from one.
    static func spawn(arguments: [String], environment: [String], directory: String,
                      input wantsInput: Bool) throws(SpawnError) -> CGIProcess {
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1], errors: [Int32] = [-1, -1]
        // O_CLOEXEC: a script spawned at the same time by another thread must not inherit these.
        if wantsInput, swerve_pipe_cloexec(&input) != 0 { throw SpawnError(call: "pipe2", code: errno) }
        guard swerve_pipe_cloexec(&output) == 0 else {
            let code = errno
            closeAll(input)
            throw SpawnError(call: "pipe2", code: code)
        }
        guard swerve_pipe_cloexec(&errors) == 0 else {
            let code = errno
            closeAll(input + output)
            throw SpawnError(call: "pipe2", code: code)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears CLOEXEC on the copies, so 0, 1 and 2 survive the exec.
        if wantsInput {
            posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        swerve_spawn_add_closefrom(&actions, 3)
        swerve_spawn_add_chdir(&actions, directory)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let result = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                posix_spawn(&pid, argv[0]!, &actions, &attributes, argv, envp)
            }
        }
        // The child's ends live on in the child only.
        if wantsInput { close(input[0]) }
        close(output[1])
        close(errors[1])
        guard result == 0 else {
            if wantsInput { close(input[1]) }
            close(output[0])
            close(errors[0])
            throw SpawnError(call: "posix_spawn \(arguments[0])", code: result)
        }
        return CGIProcess(pid: pid, stdin: input[1], stdout: output[0], stderr: errors[0])
    }

    /// Signals the script's whole process group (it and anything it started).
    static func signalGroup(_ pid: pid_t, _ signal: Int32) {
        kill(-pid, signal)
    }

    /// True while any process of the group is alive.
    static func groupExists(_ pid: pid_t) -> Bool {
        kill(-pid, 0) == 0 || errno == EPERM
    }

    private static func closeAll(_ descriptors: [Int32]) {
        for descriptor in descriptors where descriptor >= 0 { close(descriptor) }
    }

    /// A NULL-terminated `char *[]` for the duration of `body`.
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }
}
