// ContactLedger — contact domain.

/// A contact's language: a known ISO 639-3 code, stored lowercase (spec §1.1, gocommon `i18n.ParseLanguage`).
///
/// Input is case-insensitive (`ENG` → `eng`) and must be exactly 3 characters from the full ISO 639-3 list
/// (Debian `iso-codes`, shipped in ``ISOCodeTables``). An empty language means "none"; callers model it
/// as `LanguageCode?` and never build an empty code.
///
/// ```swift
/// let language = try LanguageCode("ENG")  // language.rawValue == "eng"
/// ```
public struct LanguageCode: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The lowercase code, e.g. `eng`.
    public let rawValue: String

    /// Validates a language code.
    ///
    /// - Parameter raw: the code in any case, e.g. `Kin`.
    /// - Throws: ``LanguageCodeError/wrongLength`` unless `raw` is 3 characters;
    ///   ``LanguageCodeError/unrecognized`` if it is not in ISO 639-3.
    public init(_ raw: String) throws(LanguageCodeError) {
        guard raw.utf8.count == 3 else { throw .wrongLength }
        let lowered = raw.lowercased()
        guard ISOCodeTables.languages.contains(lowered) else { throw .unrecognized }
        self.rawValue = lowered
    }

    /// The code, e.g. `eng`.
    public var description: String { self.rawValue }

    /// Orders codes alphabetically.
    public static func < (lhs: LanguageCode, rhs: LanguageCode) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

extension LanguageCode: Codable {
    /// Decodes a code string, validating it; a refused value becomes `DecodingError.dataCorrupted`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            self = try LanguageCode(string)
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
