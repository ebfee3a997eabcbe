#ifndef CAIRN_CJEMALLOC_H
#define CAIRN_CJEMALLOC_H
// Debian's jemalloc exports the standard malloc family under their usual names, so linking it replaces
// glibc's allocator for the whole process. Only its control call is declared here: jemalloc.h redeclares
// malloc and free, which Swift already sees through Glibc.
#include <stddef.h>

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

#endif
