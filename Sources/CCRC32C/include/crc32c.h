#ifndef CAIRN_CCRC32C_H
#define CAIRN_CCRC32C_H
// CRC-32C in the processor's own instruction (SSE 4.2 on x86-64, CRC on ARMv8), for the WAL's checksums.
// The Swift side keeps a table-driven fallback for processors without it.
#include <stddef.h>
#include <stdint.h>

/// Whether this processor has the CRC-32C instruction.
int cairn_crc32c_available(void);

/// Folds `count` bytes into `crc` (the running, not yet inverted, state). Only when available.
uint32_t cairn_crc32c_update(uint32_t crc, const void *bytes, size_t count);

#endif
