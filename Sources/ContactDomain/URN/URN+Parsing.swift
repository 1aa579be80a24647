// ContactLedger — contact domain.

extension URN {
    /// The longest `tel` path accepted as typed (with spaces, dashes, parentheses): far more than any
    /// phone number or 64-character sender id needs, and short enough for libphonenumber to stay quick.
    public static let maxTelInputLength = 128

    /// Normalizes and validates a URN typed by a user or sent by a client (spec §2.2, §2.3).
    ///
    /// Steps: trim the whole string; split it into scheme, path, `?query` and `#display` (unescaping `%23`,
    /// `%25`, `%3F`); lowercase the scheme; trim path and display; apply the scheme's normalization
    /// (``URNScheme/normalize(path:defaultCountry:)`` — for `tel`, a phone number parse with `defaultCountry`);
    /// then validate.
    ///
    /// ```swift
    /// try URN.normalized("tel:(206) 555-1212", defaultCountry: "US").identity  // "tel:+12065551212"
    /// try URN.normalized("twitter: @jimmyJO", defaultCountry: nil).identity    // "twitter:jimmyjo"
    /// ```
    ///
    /// - Parameters:
    ///   - raw: the URN as typed, e.g. `tel:0788 123 123`.
    ///   - defaultCountry: the workspace's ISO 3166-1 alpha-2 country for national phone numbers, or `nil`
    ///     (numbers without a country code then stay as typed, e.g. `tel:0788123123`).
    /// - Returns: the normalized URN.
    /// - Throws: ``URNError``: `empty`, `malformed`, `unknown_scheme` (also for the internal `deleted`),
    ///   `not_a_possible_number`, `invalid_country_code`, `path_too_long`, `invalid_path`, `display_too_long`.
    public static func normalized(_ raw: String, defaultCountry: String?) throws(URNError) -> URN {
        let parts = try Self.split(raw.trimmingWhitespaceAndNewlines())
        guard let scheme = URNScheme(rawValue: parts.scheme.lowercased()), !scheme.isInternal else {
            throw .unknownScheme
        }
        return try URN(
            scheme: scheme,
            path: parts.path,
            query: parts.query,
            display: parts.display,
            defaultCountry: defaultCountry
        )
    }

    /// Makes a URN from its parts, normalizing and validating them (gocommon `NewFromParts`).
    ///
    /// Path and display are trimmed, the scheme's normalization applied, then everything validated. An
    /// empty query or display means none. Internal schemes are allowed here (the caller is code).
    ///
    /// - Parameters:
    ///   - scheme: the scheme.
    ///   - path: the unescaped path.
    ///   - query: the unescaped query, e.g. `channel=<uuid>`, or `nil`.
    ///   - display: the unescaped human label, or `nil`.
    ///   - defaultCountry: the ISO 3166-1 alpha-2 country for national `tel` numbers, or `nil`.
    /// - Throws: ``URNError``: `empty`, `not_a_possible_number`, `invalid_country_code`, `path_too_long`,
    ///   `invalid_path`, `display_too_long`.
    public init(
        scheme: URNScheme,
        path: String,
        query: String? = nil,
        display: String? = nil,
        defaultCountry: String? = nil
    ) throws(URNError) {
        let trimmedPath = path.trimmingWhitespaceAndNewlines()
        guard !trimmedPath.isEmpty else { throw .empty }
        // Refused before any normalization: phone parsing time grows with the square of the length, and a
        // NUL byte has no place in any scheme's path.
        guard trimmedPath.utf8.count <= (scheme == .tel ? Self.maxTelInputLength : Self.maxPathLength * 3) else { throw .pathTooLong }
        guard !trimmedPath.unicodeScalars.contains(where: { $0.value == 0 }) else { throw .invalidPath }
        let normalizedPath = try scheme.normalize(path: trimmedPath, defaultCountry: defaultCountry)
        let trimmedDisplay = display?.trimmingWhitespaceAndNewlines()
        let trimmedQuery = query?.trimmingWhitespaceAndNewlines()
        let urn = URN(
            uncheckedScheme: scheme,
            path: normalizedPath,
            query: (trimmedQuery?.isEmpty ?? true) ? nil : trimmedQuery,
            display: (trimmedDisplay?.isEmpty ?? true) ? nil : trimmedDisplay
        )
        try urn.validate()
        self = urn
    }

    /// Reads the encoded form of a URN that is already normalized (as stored), validating without
    /// normalizing (gocommon `Parse` + `Validate`).
    ///
    /// Internal schemes (`deleted`) are accepted. Use ``normalized(_:defaultCountry:)`` for user input.
    ///
    /// - Parameter string: the encoded form, e.g. `tel:+250788123123?channel=…#Home`.
    /// - Throws: ``URNError``: `empty`, `malformed`, `unknown_scheme`, `path_too_long`, `invalid_path`,
    ///   `display_too_long`.
    public init(validating string: String) throws(URNError) {
        try self.init(stored: string)
        try self.validate()
    }

    /// Reads the encoded form of a URN that this ledger stored, and so validated when it stored it:
    /// splits it into its parts without checking the path against its scheme again.
    ///
    /// Read models, the evaluator and presenters read stored URNs for every contact they touch; for `tel`
    /// the check is two libphonenumber parses, which showed in write-path and query profiles. Use
    /// ``init(validating:)`` for strings from anywhere else.
    ///
    /// - Throws: ``URNError``: `malformed`, `unknown_scheme`.
    public init(stored string: String) throws(URNError) {
        let parts = try Self.split(string)
        guard let scheme = URNScheme(rawValue: parts.scheme) else { throw .unknownScheme }
        self.init(
            uncheckedScheme: scheme,
            path: parts.path,
            query: parts.query.isEmpty ? nil : parts.query,
            display: parts.display.isEmpty ? nil : parts.display
        )
    }

    /// Checks the rules every URN must meet, in gocommon's order (`URN.Validate`).
    func validate() throws(URNError) {
        if self.path.isEmpty {
            throw .empty
        }
        if self.path.urnEscaped.utf8.count > Self.maxPathLength {
            throw .pathTooLong
        }
        if !self.scheme.isValid(path: self.path) {
            throw .invalidPath
        }
        if let display = self.display, display.utf8.count > Self.maxDisplayLength {
            throw .displayTooLong
        }
    }

    /// Splits an encoded URN into unescaped scheme, path, query and display (gocommon `parseURN`).
    ///
    /// The first `:` ends the scheme; in the path `?` starts the query and `#` the display; `#` in the query
    /// starts the display. Any other `?` or `#` outside the path is ``URNError/malformed``.
    private static func split(
        _ string: String
    ) throws(URNError) -> (scheme: String, path: String, query: String, display: String) {
        enum State { case scheme, path, query, display }
        var state = State.scheme
        var scheme = String.UnicodeScalarView()
        var path = String.UnicodeScalarView()
        var query = String.UnicodeScalarView()
        var display = String.UnicodeScalarView()

        for scalar in string.unicodeScalars {
            switch (scalar, state) {
            case (":", .scheme):
                state = .path
                continue
            case ("?", .path):
                state = .query
                continue
            case ("?", _):
                throw .malformed
            case ("#", .path), ("#", .query):
                state = .display
                continue
            case ("#", _):
                throw .malformed
            default:
                break
            }
            switch state {
            case .scheme: scheme.append(scalar)
            case .path: path.append(scalar)
            case .query: query.append(scalar)
            case .display: display.append(scalar)
            }
        }
        guard !scheme.isEmpty, !path.isEmpty else { throw .empty }
        return (
            String(scheme).urnUnescaped, String(path).urnUnescaped, String(query).urnUnescaped,
            String(display).urnUnescaped
        )
    }
}
