// ContactLedger: SO_PEERCRED and SO_PEERGROUPS, flock, malloc_trim, per-thread priority, thread name, sync_file_range,
// wcwidth, stdout flush, posix_spawn file action and memmem wrappers.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // wcwidth, sync_file_range, posix_spawn_file_actions_add*_np
#endif
#include <errno.h>
#include <stdio.h>
#include <wchar.h>
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "CLedgerSys.h"
#include <sys/socket.h>
#include <sys/file.h>
#include <fcntl.h>

_Static_assert(sizeof(CLedgerSys_PeerCredentials) == sizeof(struct ucred), "ucred layout");

const int CLedgerSys_SO_PEERCRED = SO_PEERCRED;

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif
const int CLedgerSys_SO_PEERGROUPS = SO_PEERGROUPS;

int CLedgerSys_getPeerCredentials(int fd, CLedgerSys_PeerCredentials *out) {
    socklen_t len = sizeof(struct ucred);
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, out, &len);
}

int CLedgerSys_lockExclusive(int fd) {
    return flock(fd, LOCK_EX | LOCK_NB);
}

int CLedgerSys_returnFreedMemory(void) {
    return malloc_trim(0);
}

int CLedgerSys_lowerThreadPriority(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)gettid(), nice);
}

int CLedgerSys_threadNice(void) {
    return getpriority(PRIO_PROCESS, (id_t)gettid());
}

int CLedgerSys_nameThread(const char *name) {
    char kept[16];
    strncpy(kept, name, sizeof kept - 1);
    kept[sizeof kept - 1] = 0;
    return pthread_setname_np(pthread_self(), kept);
}

int CLedgerSys_writeBackRange(int fd, int64_t offset, int64_t length) {
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
}

int CLedgerSys_columnWidth(uint32_t scalar) {
    return wcwidth((wchar_t)scalar);
}

int CLedgerSys_flushStandardOutput(void) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return errno != 0 ? errno : EIO;
    }
    return 0;
}

int CLedgerSys_spawnAddCloseFrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int CLedgerSys_spawnAddChangeDirectory(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int CLedgerSys_contains(const void *haystack, size_t haystackLength, const void *needle, size_t needleLength) {
    return memmem(haystack, haystackLength, needle, needleLength) != NULL;
}
