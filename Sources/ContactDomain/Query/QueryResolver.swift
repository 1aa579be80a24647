// ContactLedger — contact domain.

import Foundation

/// What the parser needs to know about the workspace to resolve and validate a query.
///
/// Implementations are cheap, read-only views over a workspace snapshot (its fields, groups and
/// settings); the parser calls them synchronously and never stores them.
public protocol QueryResolver: Sendable {
    /// The type of the custom field with this lowercase key, or `nil` if there is none.
    func fieldType(forKey key: String) -> FieldType?

    /// The canonical name of the group whose name equals `name` ignoring case, or `nil` if there is none.
    func groupName(matching name: String) -> String?

    /// The canonical name of the flow whose name equals `name` ignoring case, or `nil`.
    ///
    /// Defaults to `nil`: without flows, `flow = X` and `history = X` fail with `invalid_flow`
    /// (`flow = ""` still works).
    func flowName(matching name: String) -> String?

    /// Whether URNs are redacted (anonymous workspace, behaviour reference §8.1): URN-value conditions
    /// fail with `redacted_urns`, bare 6–7 character refs search `ref`, bare URNs and phone numbers are
    /// names.
    var isAnonymous: Bool { get }

    /// The order non-ISO dates are read in (the workspace date format). Defaults to
    /// ``QueryDateOrder/yearMonthDay``. ISO `YYYY-MM-DD` dates are accepted whatever the order.
    var dateOrder: QueryDateOrder { get }

    /// The year two-digit years pivot on. Defaults to the current UTC year.
    var currentYear: Int { get }

    /// The zone whose day a full ISO timestamp with an offset names (`d = "2026-12-07T23:00:00Z"`), the
    /// workspace's. Defaults to `nil`: such a value names the day written.
    var timeZone: TimeZone? { get }

    /// Whether `code` is a valid ISO-639-3 language code (any case). Defaults to "exactly three ASCII
    /// letters"; a workspace with a language table should check that the code is known.
    func isValidLanguage(_ code: String) -> Bool

    /// The E.164 form of a whole query that looks like a phone number (`(202) 456-1111` → `+12024561111`),
    /// parsed with the workspace's default country, or `nil` (§5.6).
    ///
    /// Only called when URNs aren't redacted and the trimmed query is `+?` followed by 5 or more of digits,
    /// spaces, `.`, `-`, `(`, `)`. Defaults to `nil` (no rewrite).
    func phoneNumber(forQuery text: String) -> String?
}

extension QueryResolver {
    /// No flows: returns `nil`.
    public func flowName(matching name: String) -> String? { nil }

    /// ``QueryDateOrder/yearMonthDay``.
    public var dateOrder: QueryDateOrder { .yearMonthDay }

    /// The current year in UTC.
    public var currentYear: Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar.component(.year, from: Date())
    }

    /// None: a timestamp's day is the day written.
    public var timeZone: TimeZone? { nil }

    /// Exactly three ASCII letters.
    public func isValidLanguage(_ code: String) -> Bool {
        let scalars = code.unicodeScalars
        return scalars.count == 3 && scalars.allSatisfy { $0.isASCII && $0.properties.isAlphabetic }
    }

    /// No rewrite: returns `nil`.
    public func phoneNumber(forQuery text: String) -> String? { nil }
}
