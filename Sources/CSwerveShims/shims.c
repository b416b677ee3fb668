// Most shims are inline functions in include/CSwerveShims.h. pipe2 and the
// posix_spawn extensions (and memmem) are declared only under _GNU_SOURCE, which the
// Swift Glibc module is not built with: they are wrapped here.
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/socket.h>
#include "CSwerveShims.h"

int swerve_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

long swerve_peer_uid(int fd) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return (long)credentials.uid;
}

int swerve_dup_cloexec(int old, int new_fd) {
    return dup3(old, new_fd, O_CLOEXEC);
}

int swerve_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int swerve_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

#include <string.h>

const void *swerve_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}

int swerve_start_writeback(int fd, long long offset, long long length) {
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}
