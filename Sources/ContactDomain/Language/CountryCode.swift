// ContactLedger — contact domain.

/// A country: a known ISO 3166-1 alpha-2 code, stored uppercase (the workspace's `default_country`).
///
/// Input is case-insensitive (`rw` → `RW`) and checked against the full ISO 3166-1 list (Debian `iso-codes`,
/// shipped in ``ISOCodeTables``). Pass ``rawValue`` as the `defaultCountry` of
/// ``URN/normalized(_:defaultCountry:)``.
///
/// ```swift
/// let country = try CountryCode("rw")  // country.rawValue == "RW"
/// ```
public struct CountryCode: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The uppercase code, e.g. `RW`.
    public let rawValue: String

    /// Validates a country code.
    ///
    /// - Parameter raw: the code in any case, e.g. `us`.
    /// - Throws: ``CountryCodeError/wrongLength`` unless `raw` is 2 characters;
    ///   ``CountryCodeError/unrecognized`` if it is not in ISO 3166-1.
    public init(_ raw: String) throws(CountryCodeError) {
        guard raw.utf8.count == 2 else { throw .wrongLength }
        let uppered = raw.uppercased()
        guard ISOCodeTables.countries.contains(uppered) else { throw .unrecognized }
        self.rawValue = uppered
    }

    /// Whether libphonenumber knows the country's numbering plan (false for e.g. `AQ`, Antarctica); for
    /// other countries national phone numbers cannot be read and `tel` URNs need a country code.
    public var hasPhoneNumberMetadata: Bool {
        PhoneNumbers.isSupportedRegion(self.rawValue)
    }

    /// The code, e.g. `RW`.
    public var description: String { self.rawValue }

    /// Orders codes alphabetically.
    public static func < (lhs: CountryCode, rhs: CountryCode) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

extension CountryCode: Codable {
    /// Decodes a code string, validating it; a refused value becomes `DecodingError.dataCorrupted`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            self = try CountryCode(string)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    /// Encodes the code as a single string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }
}
