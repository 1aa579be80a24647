// ContactLedger: SO_PEERCRED, flock and malloc_trim wrappers.
#include <malloc.h>
#include "CLedgerSys.h"
#include <sys/socket.h>
#include <sys/file.h>

_Static_assert(sizeof(CLedgerSys_PeerCredentials) == sizeof(struct ucred), "ucred layout");

const int CLedgerSys_SO_PEERCRED = SO_PEERCRED;

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
