// ContactLedger — contact domain.

/// Why a URN was refused.
///
/// Each case has a stable machine ``code`` and a constant human ``message`` (gocommon's texts, `urns/urns.go`
/// and `urns/phone.go`). Neither ever contains the URN itself: URNs are personal data, so errors carry codes,
/// not values, and can be logged or answered safely.
public enum URNError: Error, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The scheme or the path is empty (after trimming).
    case empty
    /// The scheme is not one of ``URNScheme``'s user schemes.
    case unknownScheme
    /// A `?` or `#` appears where no query or display may start, e.g. `tel:1#a#b`.
    case malformed
    /// The path does not match the scheme's rule (§2.2).
    case invalidPath
    /// The escaped path is longer than ``URN/maxPathLength``.
    case pathTooLong
    /// The display is longer than ``URN/maxDisplayLength``.
    case displayTooLong
    /// A `tel` path is neither a possible number, a short code nor a sender id.
    case notAPossibleNumber
    /// The default country is not a region libphonenumber knows.
    case invalidCountryCode

    /// The stable machine code, e.g. `unknown_scheme`.
    public var code: String {
        switch self {
        case .empty: "empty"
        case .unknownScheme: "unknown_scheme"
        case .malformed: "malformed"
        case .invalidPath: "invalid_path"
        case .pathTooLong: "path_too_long"
        case .displayTooLong: "display_too_long"
        case .notAPossibleNumber: "not_a_possible_number"
        case .invalidCountryCode: "invalid_country_code"
        }
    }

    /// The constant human message, e.g. `unknown URN scheme`; it never includes the URN.
    public var message: String {
        switch self {
        case .empty: "scheme or path cannot be empty"
        case .unknownScheme: "unknown URN scheme"
        case .malformed: "query or display component out of place"
        case .invalidPath: "invalid path component"
        case .pathTooLong: "path component too long"
        case .displayTooLong: "display component too long"
        case .notAPossibleNumber: "not a possible number"
        case .invalidCountryCode: "invalid country code"
        }
    }

    /// The human ``message``.
    public var description: String { self.message }

    /// The length a too-long path or display passed (UTF-8 bytes, as gocommon counts); nil for the others.
    public var limit: Int? {
        switch self {
        case .pathTooLong: URN.maxPathLength
        case .displayTooLong: URN.maxDisplayLength
        default: nil
        }
    }
}
