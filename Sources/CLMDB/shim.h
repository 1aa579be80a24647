// ContactLedger: the LMDB C API, as Debian's liblmdb-dev ships it.
#ifndef CLMDB_SHIM_H
#define CLMDB_SHIM_H
#include <lmdb.h>
#endif
