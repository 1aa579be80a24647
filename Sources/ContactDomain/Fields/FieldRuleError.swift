// ContactLedger — contact domain.

/// A custom-field definition rule that a key or name broke.
///
/// The ``code`` is stable and machine-readable (it goes into `data.reason` on the wire); the ``message`` is a
/// constant sentence per code. Neither ever contains the value that was refused, so the error is safe to log.
public struct FieldRuleError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable, machine-readable reason a rule was broken.
    public struct Code: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
        /// The snake_case wire form of the code, e.g. `reserved_key`.
        public var rawValue: String

        /// Creates a code from its wire form.
        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// The key is empty or does not match `^[a-z][a-z0-9_]*$`.
        public static let invalidKey = Code(rawValue: "invalid_key")
        /// The key is longer than ``FieldKey/maxLength`` characters.
        public static let keyTooLong = Code(rawValue: "key_too_long")
        /// The key is one of ``FieldKey/reservedKeys``.
        public static let reservedKey = Code(rawValue: "reserved_key")
        /// The name is empty, has leading/trailing spaces or a character other than a letter, digit, `-` or space.
        public static let invalidName = Code(rawValue: "invalid_name")
        /// The name is longer than ``FieldDefinition/maxNameLength`` characters.
        public static let nameTooLong = Code(rawValue: "name_too_long")
        /// The key derived from a name (``FieldKey/fromName(_:)``) is invalid or reserved.
        public static let generatedKeyInvalid = Code(rawValue: "generated_key_invalid")

        /// The wire form of the code.
        public var description: String { self.rawValue }
    }

    /// Which rule was broken.
    public let code: Code

    /// The length limit that was exceeded, for the `*_too_long` codes.
    public let limit: Int?

    /// Creates an error for a broken rule.
    ///
    /// - Parameters:
    ///   - code: the rule that was broken.
    ///   - limit: the limit that was exceeded, if the rule is a length limit.
    public init(code: Code, limit: Int? = nil) {
        self.code = code
        self.limit = limit
    }

    /// A constant, human-readable sentence for ``code``; never includes the refused value.
    public var message: String {
        switch self.code {
        case .invalidKey:
            "Key must start with a lowercase letter and contain only lowercase letters, digits and underscores."
        case .keyTooLong: "Key is too long."
        case .reservedKey: "Can't be a reserved word."
        case .invalidName: "Can only contain letters, numbers and hypens."
        case .nameTooLong: "Name is too long."
        case .generatedKeyInvalid: "Generated key is invalid or a reserved name."
        default: "Invalid field definition."
        }
    }

    /// The code and message, e.g. `reserved_key: Can't be a reserved word.`
    public var description: String { "\(self.code.rawValue): \(self.message)" }
}
