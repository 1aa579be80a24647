// ContactLedger — contact domain.

import ContactDomain
import Foundation
import Testing

@Suite struct LanguageTests {
    @Test(arguments: [
        ("ENG", "eng"), ("eng", "eng"), ("Kin", "kin"), ("fra", "fra"), ("swh", "swh"), ("SWA", "swa"),
        ("und", "und"), ("mul", "mul"), ("zxx", "zxx"), ("aaa", "aaa"), ("zzj", "zzj"),
    ])
    func acceptsISO6393Codes(raw: String, stored: String) throws {
        #expect(try LanguageCode(raw).rawValue == stored)
        #expect(try LanguageCode(raw).description == stored)
    }

    @Test(arguments: [
        ("base", LanguageCodeError.wrongLength), ("", .wrongLength), ("en", .wrongLength), ("e", .wrongLength),
        ("eng ", .wrongLength), ("é1", .unrecognized), ("xzx", .unrecognized), ("zzz", .unrecognized),
        ("qaa", .unrecognized), ("12a", .unrecognized), ("fre", .unrecognized),
    ])
    func refusesOtherCodes(raw: String, error: LanguageCodeError) {
        #expect(throws: error) { try LanguageCode(raw) }
    }

    @Test func languageErrorsCarryNoValue() {
        #expect(LanguageCodeError.wrongLength.message == "iso-639-3 codes must be 3 characters")
        #expect(LanguageCodeError.unrecognized.message == "unrecognized language code")
        #expect(LanguageCodeError.wrongLength.code == "invalid_length")
        #expect(LanguageCodeError.unrecognized.code == "unrecognized_language")
        #expect(LanguageCodeError.unrecognized.description == LanguageCodeError.unrecognized.message)
    }

    @Test func languageCodable() throws {
        let codes = [try LanguageCode("ENG"), try LanguageCode("kin")]
        let data = try JSONEncoder().encode(codes)
        #expect(String(decoding: data, as: UTF8.self) == #"["eng","kin"]"#)
        #expect(try JSONDecoder().decode([LanguageCode].self, from: data) == codes)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([LanguageCode].self, from: Data(#"["xzx"]"#.utf8))
        }
        #expect(try LanguageCode("eng") < LanguageCode("kin"))
    }

    @Test(arguments: [("RW", "RW"), ("rw", "RW"), ("Us", "US"), ("GB", "GB"), ("EC", "EC"), ("AQ", "AQ")])
    func acceptsISO3166Codes(raw: String, stored: String) throws {
        #expect(try CountryCode(raw).rawValue == stored)
    }

    @Test(arguments: [
        ("ZZ", CountryCodeError.unrecognized), ("XK", .unrecognized), ("UK", .unrecognized), ("12", .unrecognized),
        ("USA", .wrongLength), ("", .wrongLength), ("R", .wrongLength), ("RW ", .wrongLength),
    ])
    func refusesOtherCountries(raw: String, error: CountryCodeError) {
        #expect(throws: error) { try CountryCode(raw) }
    }

    @Test func countryErrorsAndPhoneMetadata() throws {
        #expect(CountryCodeError.unrecognized.message == "unrecognized country code")
        #expect(CountryCodeError.wrongLength.code == "invalid_length")
        #expect(try CountryCode("RW").hasPhoneNumberMetadata)
        #expect(try !CountryCode("AQ").hasPhoneNumberMetadata)
        let country = try CountryCode("rw")
        #expect(
            try URN.normalized("tel:0788 123 123", defaultCountry: country.rawValue).identity == "tel:+250788123123"
        )
    }

    @Test func countryCodable() throws {
        let data = try JSONEncoder().encode([try CountryCode("us")])
        #expect(String(decoding: data, as: UTF8.self) == #"["US"]"#)
        #expect(try JSONDecoder().decode([CountryCode].self, from: data) == [try CountryCode("US")])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([CountryCode].self, from: Data(#"["ZZ"]"#.utf8))
        }
    }
}
