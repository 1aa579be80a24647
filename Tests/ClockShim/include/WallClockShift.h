// ContactLedger — tests: a wall clock a test can step (see WallClockShift.c).
#pragma once

/// Always 1: lets the library be linked and named; its work is done by the functions it interposes.
int clockShimIsLoaded(void);
