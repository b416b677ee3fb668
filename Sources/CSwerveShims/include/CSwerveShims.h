#ifndef SWERVE_SHIMS_H
#define SWERVE_SHIMS_H

// Linux calls the Swift Glibc module does not expose (signalfd) or cannot
// call (prctl is variadic). Thin wrappers only, no logic.

#include <signal.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>

/// A non-blocking, close-on-exec signalfd for `mask` (which the caller blocks).
static inline int swerve_signalfd(const sigset_t *mask) {
    return signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

/// The signal number of the next pending signal on `fd`, 0 when none, -1 on error.
static inline int swerve_read_signal(int fd) {
    struct signalfd_siginfo info;
    ssize_t count = read(fd, &info, sizeof info);
    if (count == (ssize_t)sizeof info) return (int)info.ssi_signo;
    return count < 0 ? -1 : 0;
}

/// Sets the thread's (and so a single-threaded process's) name: `comm` in /proc, `ps -o comm`.
static inline int swerve_set_process_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

#endif
