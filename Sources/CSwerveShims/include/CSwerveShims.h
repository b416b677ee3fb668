#ifndef SWERVE_SHIMS_H
#define SWERVE_SHIMS_H

// Linux calls the Swift Glibc module does not expose (signalfd, pipe2, memmem,
// glibc's posix_spawn extensions) or cannot call (prctl is variadic). Thin wrappers
// only, no logic.

#include <signal.h>
#include <stddef.h>
#include <spawn.h>
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

/// pipe2(fds, O_CLOEXEC) (a GNU extension too).
int swerve_pipe_cloexec(int fds[2]);
/// The uid of the process at the other end of a Unix socket (SO_PEERCRED), -1 on error.
long swerve_peer_uid(int fd);
/// dup3(old, new, O_CLOEXEC): `new` refers to `old`'s file from one instant on.
int swerve_dup_cloexec(int old, int new_fd);

/// posix_spawn_file_actions_addchdir_np (glibc ≥ 2.29): the child's working directory.
/// Defined in shims.c, which is compiled with _GNU_SOURCE.
int swerve_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path);

/// posix_spawn_file_actions_addclosefrom_np (glibc ≥ 2.34): the child closes
/// every descriptor from `lowest` up, whatever the parent forgot to mark CLOEXEC.
int swerve_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int lowest);

/// memmem (a GNU extension): the first `needle` in `haystack`, or NULL.
const void *swerve_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);

/// sync_file_range(SYNC_FILE_RANGE_WRITE): starts writing a range to disk
/// without waiting for it, so a later fsync has less left to do.
int swerve_start_writeback(int fd, long long offset, long long length);

#endif
