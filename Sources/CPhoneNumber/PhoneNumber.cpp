// ContactLedger: thin extern "C" wrappers over libphonenumber. Types and errors only; rules stay in Swift.
#include "CPhoneNumber.h"
#include <phonenumbers/phonenumberutil.h>
#include <phonenumbers/shortnumberinfo.h>
#include <string>
#include <cstring>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;
using i18n::phonenumbers::ShortNumberInfo;

static int copyOut(const std::string &value, char *out, size_t outLength) {
    if (value.size() + 1 > outLength) return CPhoneNumber_BUFFER_TOO_SMALL;
    std::memcpy(out, value.c_str(), value.size() + 1);
    return CPhoneNumber_OK;
}

static int parse(const char *number, const char *region, PhoneNumber *parsed) {
    PhoneNumberUtil::ErrorType error = PhoneNumberUtil::GetInstance()->Parse(number, region, parsed);
    if (error == PhoneNumberUtil::NO_PARSING_ERROR) return CPhoneNumber_OK;
    if (error == PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR) return CPhoneNumber_INVALID_COUNTRY_CODE;
    return CPhoneNumber_NOT_A_NUMBER;
}

static PhoneNumberUtil::PhoneNumberFormat toFormat(int style) {
    switch (style) {
    case CPhoneNumber_INTERNATIONAL: return PhoneNumberUtil::INTERNATIONAL;
    case CPhoneNumber_NATIONAL: return PhoneNumberUtil::NATIONAL;
    default: return PhoneNumberUtil::E164;
    }
}

extern "C" int CPhoneNumber_parse(const char *number, const char *region, char *out, size_t outLength) {
    const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
    PhoneNumber parsed;
    int status = parse(number, region, &parsed);
    if (status != CPhoneNumber_OK) return status;
    if (util->IsPossibleNumberWithReason(parsed) != PhoneNumberUtil::IS_POSSIBLE) return CPhoneNumber_NOT_POSSIBLE;
    std::string formatted;
    util->Format(parsed, PhoneNumberUtil::E164, &formatted);
    return copyOut(formatted, out, outLength);
}

extern "C" int CPhoneNumber_parseShortNumber(const char *number, const char *region, char *out, size_t outLength) {
    // Loading the short-number metadata is costly; C++11 makes this initialisation thread-safe.
    static const ShortNumberInfo shortInfo;
    PhoneNumber parsed;
    int status = parse(number, region, &parsed);
    if (status != CPhoneNumber_OK) return status;
    if (!shortInfo.IsPossibleShortNumberForRegion(parsed, region)) return CPhoneNumber_NOT_POSSIBLE;
    std::string formatted;
    PhoneNumberUtil::GetInstance()->Format(parsed, PhoneNumberUtil::NATIONAL, &formatted);
    return copyOut(formatted, out, outLength);
}

extern "C" int CPhoneNumber_format(const char *number, const char *region, int style, char *out, size_t outLength) {
    PhoneNumber parsed;
    int status = parse(number, region, &parsed);
    if (status != CPhoneNumber_OK) return status;
    std::string formatted;
    PhoneNumberUtil::GetInstance()->Format(parsed, toFormat(style), &formatted);
    return copyOut(formatted, out, outLength);
}

extern "C" int CPhoneNumber_regionForNumber(const char *number, char *out, size_t outLength) {
    PhoneNumber parsed;
    int status = parse(number, "ZZ", &parsed);
    if (status != CPhoneNumber_OK) return status;
    std::string region;
    PhoneNumberUtil::GetInstance()->GetRegionCodeForNumber(parsed, &region);
    if (region.size() != 2 || region == "ZZ") return CPhoneNumber_NO_REGION;
    return copyOut(region, out, outLength);
}

extern "C" int CPhoneNumber_isSupportedRegion(const char *region) {
    return PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(region) != 0 ? 1 : 0;
}
