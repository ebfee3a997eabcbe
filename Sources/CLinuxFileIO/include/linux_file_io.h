#ifndef CAIRN_CLINUXFILEIO_H
#define CAIRN_CLINUXFILEIO_H
// Linux file calls that Swift's Glibc module leaves out (they need _GNU_SOURCE): sync_file_range, how a file
// written once (a snapshot copy) is sent to disk as it is written rather than in one final fsync; and
// O_DIRECT, how the WAL's appends skip the page cache; F_SETPIPE_SZ, how big a pipe's buffer is.

/// Starts writeback of the range without waiting (SYNC_FILE_RANGE_WRITE). 0 or -1 with errno.
int cairn_start_writeback(int fd, long long offset, long long length);

/// Writes the range back and waits until it is on its way to the device and done (WAIT_BEFORE | WRITE |
/// WAIT_AFTER). Not a durability guarantee (no metadata, no device cache flush): fsync is. 0 or -1 with errno.
int cairn_wait_writeback(int fd, long long offset, long long length);

/// open(2) with O_DIRECT added to `flags` (and O_CLOEXEC). -1 with errno (EINVAL where the filesystem has no
/// direct I/O: tmpfs before Linux 6.6, some FUSE filesystems).
int cairn_open_direct(const char *path, int flags, unsigned int mode);

/// Asks for a pipe buffer of `size` bytes (F_SETPIPE_SZ; the kernel caps it at /proc/sys/fs/pipe-max-size, 1 MiB
/// by default): a snapshot copy through a pipe then wakes its reader once per MiB, not once per 64 KiB. The
/// buffer's new size, or -1 with errno (the pipe keeps its size).
int cairn_grow_pipe(int fd, int size);
#endif
