#ifndef CAIRN_CWRITEBEHIND_H
#define CAIRN_CWRITEBEHIND_H
// Linux's sync_file_range, which Swift's Glibc module leaves out (it needs _GNU_SOURCE): how a file written
// once (a snapshot copy) is sent to disk as it is written rather than in one final fsync.

/// Starts writeback of the range without waiting (SYNC_FILE_RANGE_WRITE). 0 or -1 with errno.
int cairn_start_writeback(int fd, long long offset, long long length);

/// Writes the range back and waits until it is on its way to the device and done (WAIT_BEFORE | WRITE |
/// WAIT_AFTER). Not a durability guarantee (no metadata, no device cache flush): fsync is. 0 or -1 with errno.
int cairn_wait_writeback(int fd, long long offset, long long length);

#endif
