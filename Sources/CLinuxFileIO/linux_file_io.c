#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include "linux_file_io.h"

int cairn_start_writeback(int fd, long long offset, long long length) {
#ifdef __linux__
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)length;
    return 0;
#endif
}

int cairn_wait_writeback(int fd, long long offset, long long length) {
#ifdef __linux__
    return sync_file_range(fd, offset, length,
                           SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
#else
    (void)fd; (void)offset; (void)length;
    return 0;
#endif
}

int cairn_open_direct(const char *path, int flags, unsigned int mode) {
#ifdef O_DIRECT
    return open(path, flags | O_DIRECT | O_CLOEXEC, mode);
#else
    (void)path; (void)flags; (void)mode;
    errno = EINVAL;
    return -1;
#endif
}

int cairn_grow_pipe(int fd, int size) {
#ifdef F_SETPIPE_SZ
    return fcntl(fd, F_SETPIPE_SZ, size);
#else
    (void)fd; (void)size;
    errno = EINVAL;
    return -1;
#endif
}
