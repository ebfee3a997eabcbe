// Shared by the C measuring tools under tools/: a monotonic clock in nanoseconds and a qsort order for latencies.
#ifndef CAIRN_TOOLS_CLOCK_H
#define CAIRN_TOOLS_CLOCK_H
#include <time.h>

static inline long now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static inline int compare(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}
#endif
