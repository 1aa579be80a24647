// ContactLedger — JSON text.
import Foundation

/// Parses JSON text (RFC 8259) straight into a ``JSONValue``, with a ``JSONTextReader``.
///
/// Why not `JSONDecoder().decode(JSONValue.self, …)`: `Codable` cannot ask what kind of value comes
/// next, so decoding "any JSON" tries each kind in turn and pays a thrown `DecodingError` per miss.
/// Profiles put that at a third of a benchmark client's CPU and a tenth of the daemon's, for every
/// request and every answer. Typed values (events, records) still go through `JSONDecoder`.
///
/// Strict: one value with optional white space around it; UTF-8 only (invalid sequences, unescaped
/// control characters and lone surrogate escapes are refused); nesting at most ``maximumDepth``.
/// Integers that fit in `Int64` become `.integer`, longer ones of up to 38 digits `.decimal`; other
/// numbers `.double`, refused if not finite, or `.decimal` with every digit kept when parsed with
/// ``Fractions/decimal`` (or ``Fractions/decimalElseDouble``, where a decimal can hold them). A key met
/// twice in one object keeps its last value, unless parsed with ``DuplicateKeys/refused``.
public struct JSONTextParser {
    /// How numbers with a fraction or an exponent are kept.
    public enum Fractions: Sendable {
        /// As the nearest `Double` (JSON-RPC params and answers).
        case double
        /// As a `Decimal` of all their digits (stored shapes whose numbers are decimals).
        case decimal
        /// As a `Decimal` of all their digits where one holds the number, else as the nearest `Double`
        /// (an exponent past a `Decimal`'s ±128): answers shown as the daemon wrote them (the CLI), whose
        /// fractions (a contact's number field) must keep every digit, while one statistic out of a
        /// decimal's range must not make the whole answer unreadable.
        case decimalElseDouble
    }

    /// What a key met twice in one object does.
    public enum DuplicateKeys: Sendable {
        /// The last member with the key is kept, as `JSONSerialization` keeps it (JSON-RPC traffic).
        case lastWins
        /// Refused with ``JSONTextError/Reason/duplicateKey`` and the key: files a person writes, where a
        /// second member with the same key is a mistake that keeping the last one hides (a shard map naming
        /// a workspace twice routed it to the second socket without a word).
        case refused
    }

    /// The deepest nesting of arrays and objects accepted (as `JSONDecoder`).
    public static let maximumDepth = 512

    /// Parses `bytes`.
    ///
    /// - Throws: ``JSONTextError`` with the byte offset where the text stops being valid JSON.
    public static func parse(
        _ bytes: some Collection<UInt8>, fractions: Fractions = .double, duplicateKeys: DuplicateKeys = .lastWins
    ) throws(JSONTextError) -> JSONValue {
        let result: Result<JSONValue, JSONTextError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONTextError) in try Self.parse(buffer: buffer, fractions: fractions, duplicateKeys: duplicateKeys) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer throws(JSONTextError) in
            try Self.parse(buffer: buffer, fractions: fractions, duplicateKeys: duplicateKeys)
        }
    }

    private static func parse(
        buffer: UnsafeBufferPointer<UInt8>, fractions: Fractions, duplicateKeys: DuplicateKeys
    ) throws(JSONTextError) -> JSONValue {
        var reader = JSONTextReader(bytes: buffer, fractions: fractions, duplicateKeys: duplicateKeys)
        let value = try reader.readValue()
        try reader.finish()
        return value
    }
}

/// Where and why JSON text could not be parsed.
public struct JSONTextError: Error, Sendable, Hashable {
    /// Why the text is not valid JSON.
    public enum Reason: String, Sendable, Hashable {
        case unexpectedEnd = "unexpected_end"
        case unexpectedCharacter = "unexpected_character"
        case trailingContent = "trailing_content"
        case expectedKey = "expected_key"
        case expectedColon = "expected_colon"
        case expectedCommaOrEnd = "expected_comma_or_end"
        case controlCharacterInString = "control_character_in_string"
        case invalidEscape = "invalid_escape"
        case invalidUTF8 = "invalid_utf8"
        case invalidNumber = "invalid_number"
        case numberOutOfRange = "number_out_of_range"
        case tooDeep = "too_deep"
        /// A key met twice in one object, parsed with ``JSONTextParser/DuplicateKeys/refused``.
        case duplicateKey = "duplicate_key"
    }

    /// The byte offset in the text where parsing stopped (for ``Reason/duplicateKey``, the second key's
    /// opening quote).
    public var offset: Int
    public var reason: Reason
    /// The key met twice, for ``Reason/duplicateKey`` (so a message can name it); nil for the others.
    public var key: String? = nil
}

extension JSONValue {
    /// Parses JSON text; see ``JSONTextParser``.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONTextError) {
        self = try JSONTextParser.parse(bytes)
    }
}
