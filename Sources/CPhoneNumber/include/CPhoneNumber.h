// ContactLedger: a C view of Google's libphonenumber (Debian libphonenumber-dev).
#ifndef CPHONENUMBER_H
#define CPHONENUMBER_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes of the functions below.
enum {
    /// Success; the output buffer holds a NUL-terminated string.
    CPhoneNumber_OK = 0,
    /// The number parsed but is not "possible" (`IS_POSSIBLE`), or not a possible short number.
    CPhoneNumber_NOT_POSSIBLE = 1,
    /// libphonenumber's `INVALID_COUNTRY_CODE_ERROR` (also: no `+` and the region is `ZZ` or unknown).
    CPhoneNumber_INVALID_COUNTRY_CODE = 2,
    /// Any other parse error (not a number, too short, too long).
    CPhoneNumber_NOT_A_NUMBER = 3,
    /// The output buffer is too small for the result.
    CPhoneNumber_BUFFER_TOO_SMALL = 4,
    /// The number has no region (a non-geographic entity or an unknown country calling code).
    CPhoneNumber_NO_REGION = 5,
};

/// Output styles of `CPhoneNumber_format` (libphonenumber's `PhoneNumberFormat`).
enum {
    CPhoneNumber_E164 = 0,
    CPhoneNumber_INTERNATIONAL = 1,
    CPhoneNumber_NATIONAL = 2,
};

/// Parses `number` with default `region` ("RW", or "ZZ" for none); if the number is possible
/// (`IsPossibleNumberWithReason` is exactly `IS_POSSIBLE`), writes its E.164 form to `out`.
int CPhoneNumber_parse(const char *number, const char *region, char *out, size_t outLength);

/// Parses `number` with default `region`; if it is a possible short number for `region`
/// (`ShortNumberInfo::IsPossibleShortNumberForRegion`), writes its national format to `out`.
int CPhoneNumber_parseShortNumber(const char *number, const char *region, char *out, size_t outLength);

/// Parses `number` with default `region` and writes it in `style` (`CPhoneNumber_E164`, `_INTERNATIONAL`,
/// `_NATIONAL`) to `out`, without checking that it is possible.
int CPhoneNumber_format(const char *number, const char *region, int style, char *out, size_t outLength);

/// Parses `number` (with a leading `+`) and writes the two-letter region it belongs to to `out`.
int CPhoneNumber_regionForNumber(const char *number, char *out, size_t outLength);

/// Returns 1 if libphonenumber has metadata for the two-letter `region` (e.g. "RW"), else 0.
int CPhoneNumber_isSupportedRegion(const char *region);

#ifdef __cplusplus
}
#endif
#endif
