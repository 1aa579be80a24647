// ContactLedger — contact domain.

/// Why a country code was refused; codes and messages never echo the value.
public enum CountryCodeError: Error, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The value is not exactly 2 characters.
    case wrongLength
    /// The value is not an ISO 3166-1 alpha-2 code.
    case unrecognized

    /// The stable machine code: `invalid_length` or `unrecognized_country`.
    public var code: String {
        switch self {
        case .wrongLength: "invalid_length"
        case .unrecognized: "unrecognized_country"
        }
    }

    /// The constant human message.
    public var message: String {
        switch self {
        case .wrongLength: "iso-3166-1 alpha-2 codes must be 2 characters"
        case .unrecognized: "unrecognized country code"
        }
    }

    /// The human ``message``.
    public var description: String { self.message }
}
