// ContactLedger: the few libc things Swift cannot see.
#ifndef CLEDGERSYS_H
#define CLEDGERSYS_H
#include <stddef.h>
#include <stdint.h>
#include <spawn.h>

/// Same layout as glibc's `struct ucred`, which `_GNU_SOURCE` hides from Swift's Glibc module.
typedef struct CLedgerSys_PeerCredentials {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
} CLedgerSys_PeerCredentials;

/// `SO_PEERCRED` as an int.
extern const int CLedgerSys_SO_PEERCRED;

/// Reads the peer credentials of a connected Unix socket. Returns 0 or -1 with errno set.
int CLedgerSys_getPeerCredentials(int fd, CLedgerSys_PeerCredentials *out);

/// The supplementary groups of a Unix socket's peer (`SO_PEERGROUPS`, as they were when it connected),
/// read into a zeroed buffer: the entries past the peer's groups stay 0. A peer with more groups
/// than this holds makes the read fail (ERANGE).
typedef struct CLedgerSys_PeerGroups {
    uint32_t gids[256];
} CLedgerSys_PeerGroups;

/// `SO_PEERGROUPS` as an int (Linux 4.13 and later).
extern const int CLedgerSys_SO_PEERGROUPS;

/// Takes an exclusive, non-blocking advisory lock on an open file. Returns 0, or -1 with errno set.
int CLedgerSys_lockExclusive(int fd);

/// Returns the allocator's free memory at the top of its heaps and arenas to the system
/// (`malloc_trim(0)`); returns whether any was returned.
int CLedgerSys_returnFreedMemory(void);

/// Lowers the calling thread's scheduling priority to `nice` (Linux keeps a nice value per thread).
/// It cannot be raised again without privileges: call it only on a thread of one's own. Returns 0, or
/// -1 with errno set.
int CLedgerSys_lowerThreadPriority(int nice);

/// The calling thread's nice value.
int CLedgerSys_threadNice(void);

/// Names the calling thread for the system (`top -H`, `perf`, `/proc/PID/task/TID/comm`); the kernel
/// keeps the first 15 bytes. Returns 0, or an error number.
int CLedgerSys_nameThread(const char *name);

/// Writes the file's dirty pages in [offset, offset + length) back to disk and waits for them
/// (`sync_file_range` with WAIT_BEFORE, WRITE and WAIT_AFTER; no metadata, no cache flush). Returns 0,
/// or -1 with errno set.
int CLedgerSys_writeBackRange(int fd, int64_t offset, int64_t length);

/// The terminal columns the C library gives a Unicode scalar under a UTF-8 character-type locale
/// (`wcwidth`, which Swift's Glibc module does not export): 2 for wide ones, -1 for controls.
int CLedgerSys_columnWidth(uint32_t scalar);

/// Flushes `stdout` (which Swift 6 cannot name: it is a mutable C global) and says whether everything
/// written to it went out. Returns 0, or the error number of the failed write (glibc keeps the bytes a
/// write failed on, so this flush tries them again and fails afresh).
int CLedgerSys_flushStandardOutput(void);

/// Adds a `posix_spawn` file action that closes every descriptor from `from` up in the child
/// (`posix_spawn_file_actions_addclosefrom_np`, glibc 2.34, hidden from Swift's Glibc module by
/// `_GNU_SOURCE`). Returns 0, or an error number.
int CLedgerSys_spawnAddCloseFrom(posix_spawn_file_actions_t *actions, int from);

/// Adds a `posix_spawn` file action that changes the child's working directory to `path`
/// (`posix_spawn_file_actions_addchdir_np`, glibc 2.29, hidden likewise). Returns 0, or an error number.
int CLedgerSys_spawnAddChangeDirectory(posix_spawn_file_actions_t *actions, const char *path);

/// Whether `needle` occurs in `haystack` (glibc's memmem): a byte search at memory speed, for scans
/// that look for a text in many stored values without decoding them.
int CLedgerSys_contains(const void *haystack, size_t haystackLength, const void *needle, size_t needleLength);

#endif
