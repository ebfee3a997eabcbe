#ifndef CAIRN_CLMDB_SHIM_H
#define CAIRN_CLMDB_SHIM_H
// Debian's liblmdb-dev (0.9.24). Nothing else: Swift wraps it in the LMDB module.
#include <lmdb.h>
#endif
