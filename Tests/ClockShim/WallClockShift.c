// ContactLedger — tests: a wall clock a test can step.
//
// Loaded into the daemon with LD_PRELOAD, it shifts what the wall clock reads (CLOCK_REALTIME through
// clock_gettime, gettimeofday, time) by the signed number of microseconds written in the file named by
// CLOCKSHIM_OFFSET_FILE, read again at most every 20 ms. The monotonic clocks are left alone: a test
// steps the wall clock back or forward as an administrator or NTP would, and checks what the daemon
// measures on each clock.
#define _GNU_SOURCE
#include "WallClockShift.h"
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*ClockGetTime)(clockid_t, struct timespec *);

static _Atomic(ClockGetTime) realClockGetTime = NULL;
static _Atomic int64_t offsetMicros = 0;
static _Atomic int64_t lastReadMicros = INT64_MIN;

static ClockGetTime underlyingClock(void) {
    ClockGetTime clock = atomic_load(&realClockGetTime);
    if (clock == NULL) {
        clock = (ClockGetTime)dlsym(RTLD_NEXT, "clock_gettime");
        atomic_store(&realClockGetTime, clock);
    }
    return clock;
}

static int64_t micros(const struct timespec *time) {
    return (int64_t)time->tv_sec * 1000000 + time->tv_nsec / 1000;
}

// The offset, read again from its file when the last reading is older than 20 ms (monotonic time).
static int64_t currentOffset(ClockGetTime clock) {
    struct timespec now;
    if (clock(CLOCK_MONOTONIC, &now) != 0) return atomic_load(&offsetMicros);
    int64_t nowMicros = micros(&now);
    int64_t last = atomic_load(&lastReadMicros);
    if (last != INT64_MIN && nowMicros - last < 20000) return atomic_load(&offsetMicros);
    atomic_store(&lastReadMicros, nowMicros);
    const char *path = getenv("CLOCKSHIM_OFFSET_FILE");
    if (path == NULL) return 0;
    int descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) return atomic_load(&offsetMicros);
    char text[32];
    ssize_t count = read(descriptor, text, sizeof text - 1);
    close(descriptor);
    if (count > 0) {
        text[count] = 0;
        atomic_store(&offsetMicros, strtoll(text, NULL, 10));
    }
    return atomic_load(&offsetMicros);
}

static int shiftedWallClock(struct timespec *time) {
    ClockGetTime clock = underlyingClock();
    int result = clock(CLOCK_REALTIME, time);
    if (result != 0) return result;
    int64_t shifted = micros(time) + currentOffset(clock);
    int64_t seconds = shifted / 1000000;
    int64_t rest = shifted % 1000000;
    if (rest < 0) {
        rest += 1000000;
        seconds -= 1;
    }
    time->tv_sec = (time_t)seconds;
    time->tv_nsec = (long)(rest * 1000);
    return 0;
}

int clock_gettime(clockid_t clock, struct timespec *time) {
    if (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE) return shiftedWallClock(time);
    return underlyingClock()(clock, time);
}

int gettimeofday(struct timeval *restrict value, void *restrict zone) {
    (void)zone;
    struct timespec time;
    int result = shiftedWallClock(&time);
    if (result == 0) {
        value->tv_sec = time.tv_sec;
        value->tv_usec = time.tv_nsec / 1000;
    }
    return result;
}

time_t time(time_t *value) {
    struct timespec now;
    if (shiftedWallClock(&now) != 0) return (time_t)-1;
    if (value != NULL) *value = now.tv_sec;
    return now.tv_sec;
}

int clockShimIsLoaded(void) { return 1; }
