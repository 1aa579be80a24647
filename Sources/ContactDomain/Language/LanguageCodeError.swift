// ContactLedger — contact domain.

/// Why a language code was refused; codes and messages never echo the value.
public enum LanguageCodeError: Error, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The value is not exactly 3 characters.
    case wrongLength
    /// The value is not an ISO 639-3 code.
    case unrecognized

    /// The stable machine code: `invalid_length` or `unrecognized_language`.
    public var code: String {
        switch self {
        case .wrongLength: "invalid_length"
        case .unrecognized: "unrecognized_language"
        }
    }

    /// The constant human message (gocommon's text without the value).
    public var message: String {
        switch self {
        case .wrongLength: "iso-639-3 codes must be 3 characters"
        case .unrecognized: "unrecognized language code"
        }
    }

    /// The human ``message``.
    public var description: String { self.message }
}
