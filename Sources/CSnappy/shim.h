#ifndef CAIRN_CSNAPPY_SHIM_H
#define CAIRN_CSNAPPY_SHIM_H
// Debian's libsnappy-dev, through its C interface: ZooKeeper's Snappy-compressed snapshots, which
// `cairnctl dump --zookeeper-data` reads.
#include <snappy-c.h>
#endif
