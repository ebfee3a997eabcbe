#ifndef CAIRN_CZLIB_SHIM_H
#define CAIRN_CZLIB_SHIM_H
// Debian's zlib1g-dev: the Adler-32 checksums of ZooKeeper's snapshot and log files, and its gzip snapshots, which
// `cairnctl dump --zookeeper-data` reads.
#include <zlib.h>
#endif
