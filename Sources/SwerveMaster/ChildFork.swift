import Glibc

/// Forking a child that reports to the master on a pipe, the one way
/// workers and helpers are started. The master must be single-threaded
/// here: fork copies only the calling thread, and locks held by others
/// would never be released.
enum ChildFork {
    /// Runs `child` in the new process with the pipe's write end; returns
    /// the pid and the read end (non-blocking) to the master.
    static func spawn(_ child: (Int32) -> Never) throws(MasterError) -> (pid: pid_t, pipe: Int32) {
        let threads = threadCount()
        guard threads == 1 else {
            throw .message("refusing to fork: the master has \(threads) threads, it must have exactly one")
        }
        var ends: [Int32] = [0, 0]
        guard Glibc.pipe(&ends) == 0 else { throw .system("pipe", errno) }
        // No other thread can exec in between: the master has one.
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        let pid = fork()
        if pid < 0 {
            close(ends[0]); close(ends[1])
            throw .system("fork", errno)
        }
        if pid == 0 {
            close(ends[0])
            child(ends[1])
        }
        close(ends[1])
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        return (pid, ends[0])
    }

    /// Entries in /proc/self/task: the threads of this process.
    static func threadCount() -> Int {
        guard let dir = opendir("/proc/self/task") else { return -1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] }
            if first != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }
}
