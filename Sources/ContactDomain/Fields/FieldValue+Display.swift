// ContactLedger — contact domain.

import Foundation

extension FieldValue {
    /// The value as a workspace displays it for a field of `type` (behaviour reference §3.2 "Display",
    /// rapidpro `Contact.get_field_display`), or `nil` when the value is not set for that type.
    ///
    /// It shows the reading the type selects (``reading(for:)``), so a value whose text does not parse as
    /// the type shows nothing:
    /// - text: the raw text;
    /// - number: the number as `contacts.get` writes it (`007` → `7`, `1.50` → `1.5`);
    /// - datetime: ``FieldDateTimeFormat/displayString(from:in:order:)`` (`20-12-2015 08:30`);
    /// - state, district, ward: the location's name (`Rwanda > Kigali City` → `Kigali City`).
    ///
    /// Each form reads back as the same reading when parsed with the same workspace settings; a datetime
    /// keeps its minute, not its seconds.
    ///
    /// ```swift
    /// let value = FieldValue(text: "007", number: 7)
    /// value.displayText(for: .number, timeZone: .gmt, dateFormat: .yearMonthDay)   // "7"
    /// ```
    ///
    /// - Parameters:
    ///   - type: the field's type.
    ///   - timeZone: the workspace timezone, for datetimes.
    ///   - dateFormat: the workspace's date format, for datetimes.
    /// - Returns: the displayed text, or `nil` when the value is not set for `type`.
    public func displayText(for type: FieldType, timeZone: TimeZone, dateFormat: DateFormat) -> String? {
        // A date with no four-digit year there shows nothing, as in answers (`formattedDatetime(in:)`):
        // `10000-01-01 05:29` would read back as another date.
        switch self.reading(for: type, in: timeZone) {
        case nil: nil
        case .text(let text): text
        case .number(let number): number.description
        case .datetime(let date): FieldDateTimeFormat.displayString(from: date, in: timeZone, order: dateFormat)
        case .location(let path): LocationHierarchy.name(ofPath: path)
        }
    }
}
