// ContactLedger — contact domain.

/// The validated key of a custom contact field, e.g. `first_name`.
///
/// A key matches `^[a-z][a-z0-9_]*$`, is at most ``maxLength`` characters long and is not one of
/// ``reservedKeys`` (behaviour reference §3.1). It encodes as a plain JSON string; decoding re-validates.
///
/// ```swift
/// let key = try FieldKey("age")
/// let derived = try FieldKey.fromName("First Name")   // first_name
/// ```
public struct FieldKey: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The longest key allowed, in characters.
    public static let maxLength = 36

    /// Keys that can never name a user field because the query language or the contact model owns them.
    public static let reservedKeys: Set<String> = ["has", "is", "fields", "urns", "created_on", "last_seen_on"]

    /// The key's text.
    public let rawValue: String

    /// Validates and wraps a key.
    ///
    /// - Parameter rawValue: the candidate key, taken exactly as given (no trimming or lowercasing).
    /// - Throws: ``FieldRuleError`` with code `invalid_key`, `key_too_long` or `reserved_key`.
    public init(_ rawValue: String) throws(FieldRuleError) {
        try Self.validate(rawValue)
        self.rawValue = rawValue
    }

    /// Derives a key from a field name: lowercase it, turn every run of characters other than `a-z0-9` into one
    /// `_`, and trim `_` from both ends (`"First Name"` → `first_name`, `"café"` → `caf`).
    ///
    /// - Parameter name: the field's display name.
    /// - Returns: the derived key.
    /// - Throws: ``FieldRuleError`` with code `generated_key_invalid` when the result breaks the key rules
    ///   (empty, starts with a digit, too long or reserved).
    public static func fromName(_ name: String) throws(FieldRuleError) -> FieldKey {
        var result = ""
        var pendingSeparator = false
        for scalar in name.lowercased().unicodeScalars {
            if Self.isKeyCharacter(scalar, allowUnderscore: false) {
                if pendingSeparator && !result.isEmpty {
                    result.append("_")
                }
                pendingSeparator = false
                result.unicodeScalars.append(scalar)
            } else {
                pendingSeparator = true
            }
        }
        do {
            return try FieldKey(result)
        } catch {
            throw FieldRuleError(code: .generatedKeyInvalid)
        }
    }

    /// Checks a candidate key against the key rules without creating one.
    ///
    /// - Throws: ``FieldRuleError`` with code `invalid_key`, `key_too_long` or `reserved_key`.
    public static func validate(_ candidate: String) throws(FieldRuleError) {
        let scalars = Array(candidate.unicodeScalars)
        guard let first = scalars.first, first >= "a" && first <= "z" else {
            throw FieldRuleError(code: .invalidKey)
        }
        if scalars.contains(where: { !Self.isKeyCharacter($0, allowUnderscore: true) }) {
            throw FieldRuleError(code: .invalidKey)
        }
        if scalars.count > Self.maxLength {
            throw FieldRuleError(code: .keyTooLong, limit: Self.maxLength)
        }
        if Self.reservedKeys.contains(candidate) {
            throw FieldRuleError(code: .reservedKey)
        }
    }

    /// Decodes a key from a JSON string, validating it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        do {
            try Self.validate(raw)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
        self.rawValue = raw
    }

    /// Encodes the key as a JSON string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }

    /// Orders keys by their text.
    public static func < (lhs: FieldKey, rhs: FieldKey) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// The key's text.
    public var description: String { self.rawValue }

    private static func isKeyCharacter(_ scalar: Unicode.Scalar, allowUnderscore: Bool) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") || (allowUnderscore && scalar == "_")
    }
}
