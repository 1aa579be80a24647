// ContactLedger — contact domain.

import Foundation

/// Everything ``FieldValue/parse(_:environment:)`` needs besides the text: the workspace settings, the clock and
/// the contact's current location values.
///
/// `now` is injected (not read from the system) so parsing is deterministic in tests and on event replay.
public struct FieldParsingEnvironment: Sendable {
    /// The type of the field being set. It only decides which location level (if any) a plain name is matched at;
    /// every other reading is computed whatever the type.
    public var fieldType: FieldType
    /// The workspace timezone: dates without an offset are read in it and datetimes are shown in it.
    public var timeZone: TimeZone
    /// The workspace date order for dates that are not ISO.
    public var dateFormat: DateFormat
    /// The current instant: its time of day fills dates without a time, its year pivots two-digit years.
    public var now: Date
    /// The workspace location hierarchy; without one no location reading is made.
    public var locations: LocationHierarchy?
    /// The contact's current `state` value (a full path); districts are only searched inside it.
    public var currentState: String?
    /// The contact's current `district` value (a full path); wards are only searched inside it.
    public var currentDistrict: String?
    /// The datetime reading of the value being replaced, if any: its time of day (rather than `now`'s)
    /// fills a date without a time, so the same date sent again reads as it did and changes nothing.
    public var replacedDatetime: Date?

    /// Creates a parsing environment.
    ///
    /// - Parameters:
    ///   - fieldType: the type of the field whose value is parsed.
    ///   - timeZone: the workspace timezone (`UTC` by default).
    ///   - dateFormat: the workspace date order (`YYYY-MM-DD` by default).
    ///   - now: the current instant.
    ///   - locations: the workspace location hierarchy, if any.
    ///   - currentState: the contact's first `state` field value, as a path.
    ///   - currentDistrict: the contact's first `district` field value, as a path.
    ///   - replacedDatetime: the datetime reading of the value being replaced, if any.
    public init(
        fieldType: FieldType,
        timeZone: TimeZone = .gmt,
        dateFormat: DateFormat = .yearMonthDay,
        now: Date,
        locations: LocationHierarchy? = nil,
        currentState: String? = nil,
        currentDistrict: String? = nil,
        replacedDatetime: Date? = nil
    ) {
        self.fieldType = fieldType
        self.timeZone = timeZone
        self.dateFormat = dateFormat
        self.now = now
        self.locations = locations
        self.currentState = currentState
        self.currentDistrict = currentDistrict
        self.replacedDatetime = replacedDatetime
    }
}
