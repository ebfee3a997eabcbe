// The durable write's floor on this disk, every way a 256-byte append can be made durable: O_DIRECT write +
// fdatasync (as the WAL does), O_DIRECT|O_DSYNC, buffered write + fdatasync; each on a posix_fallocate'd and on a
// zero-filled 64 MiB file. Prints p50/p90 of 2,000 appends per way, and the p50 of the write call alone, twice.
// Usage: gcc -O2 -o /tmp/durable-write tools/floors/durable-write.c && /tmp/durable-write [directory (default .)]
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../c/clock.h"

enum { appends = 2000, record = 256 };
static const long fileSize = 64L << 20;

enum way { directFdatasync, directDsync, bufferedFdatasync };
static const char *names[] = {"O_DIRECT write + fdatasync", "O_DIRECT|O_DSYNC write   ", "buffered write + fdatasync"};

static void run(const char *path, int zeroFilled, enum way way) {
    unlink(path);
    int fd = open(path, O_CREAT | O_RDWR | O_DIRECT, 0644);
    char *block = aligned_alloc(4096, 1 << 20);
    if (fd < 0 || !block) { perror(path); exit(1); }
    memset(block, 0, 1 << 20);
    if (zeroFilled) {
        for (long offset = 0; offset < fileSize; offset += 1 << 20) pwrite(fd, block, 1 << 20, offset);
    } else {
        posix_fallocate(fd, 0, fileSize);
    }
    fsync(fd);
    close(fd);
    int flags = O_RDWR | (way == bufferedFdatasync ? 0 : O_DIRECT) | (way == directDsync ? O_DSYNC : 0);
    fd = open(path, flags);
    if (fd < 0) { perror(path); exit(1); }
    memset(block, 'a', 1 << 20);
    long *took = malloc(appends * sizeof(long)), *writing = malloc(appends * sizeof(long)), end = 0;
    for (int i = 0; i < appends; i++) {
        long start = end & ~4095L, newEnd = end + record;
        long t0 = now();
        if (way == bufferedFdatasync) {
            pwrite(fd, block, record, end);
        } else {  // the 4 KiB blocks from the one holding the end, as the WAL writes them
            pwrite(fd, block, ((newEnd - start) + 4095) & ~4095L, start);
        }
        writing[i] = now() - t0;
        if (way != directDsync) fdatasync(fd);
        took[i] = now() - t0;
        end = newEnd;
    }
    qsort(took, appends, sizeof(long), compare);
    qsort(writing, appends, sizeof(long), compare);
    printf("%s, %-17s p50 %4ld µs  p90 %4ld µs  (the write: p50 %4ld µs)\n", names[way],
           zeroFilled ? "zero-filled file:" : "fallocated file:", took[appends / 2] / 1000,
           took[appends * 9 / 10] / 1000, writing[appends / 2] / 1000);
    free(took);
    free(writing);
    free(block);
    close(fd);
    unlink(path);
}

int main(int argc, char **argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/durable-write-floor.tmp", argc > 1 ? argv[1] : ".");
    for (int round = 0; round < 2; round++)
        for (int zeroFilled = 0; zeroFilled < 2; zeroFilled++)
            for (int way = 0; way < 3; way++) run(path, zeroFilled, way);
    return 0;
}
