// ContactLedger — contact domain.

import Foundation
import JSONText

/// A contact's value for one custom field: the raw text plus every typed reading that parsed.
///
/// On the wire and in events: `{text, number?, datetime?, state?, district?, ward?}` (behaviour reference §3.2).
/// The field's type only picks which reading counts (``reading(for:)``), so changing a field's type never
/// re-parses stored values. Make values with ``parse(_:environment:)``.
///
/// `datetime` is encoded as RFC 3339 with microseconds in the timezone found under
/// ``timeZoneUserInfoKey`` in the encoder's `userInfo` (the workspace timezone), or `+00:00` without one, and
/// left out where that zone's date has no four-digit year; decoding accepts any offset, and drops a reading a
/// log holds with a year outside 0001–9999 (``FieldDateTimeFormat/stored(from:)``).
public struct FieldValue: Sendable, Hashable, Codable {
    /// The most characters of text a value keeps; longer text is truncated.
    public static let maxTextLength = 640

    /// The `userInfo` key under which encoders may carry the `TimeZone` to show datetimes in.
    ///
    /// ```swift
    /// let encoder = JSONEncoder()
    /// encoder.userInfo[FieldValue.timeZoneUserInfoKey] = workspaceTimeZone
    /// ```
    public static let timeZoneUserInfoKey: CodingUserInfoKey = {
        // The standard library's initializer never fails; it is only declared failable.
        guard let key = CodingUserInfoKey(rawValue: "contactledger.field_value.time_zone") else {
            preconditionFailure("CodingUserInfoKey(rawValue:) refused a constant key")
        }
        return key
    }()

    /// The raw text as given (not trimmed), at most ``maxTextLength`` characters.
    public var text: String
    /// The number reading, if the trimmed text is a number.
    public var number: Decimal?
    /// The datetime reading (whole microseconds), if a date was found in the text.
    public var datetime: Date?
    /// The state path (`Rwanda > Kigali City`), if the text resolved to a state, district or ward.
    public var state: String?
    /// The district path, if the text resolved to a district or ward.
    public var district: String?
    /// The ward path, if the text resolved to a ward.
    public var ward: String?

    /// Creates a value from its parts, as stored; prefer ``parse(_:environment:)`` for user input.
    public init(
        text: String,
        number: Decimal? = nil,
        datetime: Date? = nil,
        state: String? = nil,
        district: String? = nil,
        ward: String? = nil
    ) {
        self.text = text
        self.number = number
        self.datetime = datetime
        self.state = state
        self.district = district
        self.ward = ward
    }

    /// The explicit JSON member names.
    enum CodingKeys: String, CodingKey {
        case text
        case number
        case datetime
        case state
        case district
        case ward
    }

    /// Decodes `{text, number?, datetime?, state?, district?, ward?}`; `datetime` must be RFC 3339.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.text = try container.decode(String.self, forKey: .text)
        self.number = try container.decodeIfPresent(Decimal.self, forKey: .number)
        if let raw = try container.decodeIfPresent(String.self, forKey: .datetime) {
            switch FieldDateTimeFormat.stored(from: raw) {
            case .instant(let date): self.datetime = date
            case .dropped: self.datetime = nil
            case nil:
                throw DecodingError.dataCorruptedError(
                    forKey: .datetime, in: container, debugDescription: "Expected an RFC 3339 datetime.")
            }
        } else {
            self.datetime = nil
        }
        self.state = try container.decodeIfPresent(String.self, forKey: .state)
        self.district = try container.decodeIfPresent(String.self, forKey: .district)
        self.ward = try container.decodeIfPresent(String.self, forKey: .ward)
    }

    /// Encodes the value, leaving out readings that are absent.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.text, forKey: .text)
        try container.encodeIfPresent(self.number, forKey: .number)
        let timeZone = encoder.userInfo[Self.timeZoneUserInfoKey] as? TimeZone ?? .gmt
        if let datetime = self.formattedDatetime(in: timeZone) {
            try container.encode(datetime, forKey: .datetime)
        }
        try container.encodeIfPresent(self.state, forKey: .state)
        try container.encodeIfPresent(self.district, forKey: .district)
        try container.encodeIfPresent(self.ward, forKey: .ward)
    }

    /// The `datetime` reading as RFC 3339 text in a timezone, e.g. `2026-01-02T00:00:00.000000+02:00`, or `nil`
    /// when there is none or its date there has no four-digit year (a value read in a workspace whose zone
    /// changed since: `9999-12-31T20:00:00Z` read in UTC is 10000-01-01 in Kolkata, which RFC 3339 cannot write).
    public func formattedDatetime(in timeZone: TimeZone) -> String? {
        guard let datetime = self.datetime, FieldDateTimeFormat.hasFourDigitYear(datetime, in: timeZone) else { return nil }
        return FieldDateTimeFormat.string(from: datetime, in: timeZone)
    }

    /// The reading that counts for a field of `type` in a workspace whose zone is `timeZone`: ``reading(for:)``,
    /// except a datetime whose date there has no four-digit year, which is not set (it shows none,
    /// ``formattedDatetime(in:)``, so queries, sorting and display must not count it either: a value read in UTC
    /// as `9999-12-31T23:00:00Z` is 10000-01-01 once the workspace moves to Kolkata).
    /// The zone is only made when the date is within two days of either end.
    public func reading(for type: FieldType, in timeZone: @autoclosure () -> TimeZone) -> FieldReading? {
        let reading = self.reading(for: type)
        if case .datetime(let date) = reading, !FieldDateTimeFormat.hasFourDigitYear(date, in: timeZone()) { return nil }
        return reading
    }

    /// The reading that counts for a field of `type`, or `nil` when the value is not set for that type.
    ///
    /// A value whose text does not parse as the type keeps its text but counts as not set: queries treat it as
    /// missing and the API shows `null` (goflow `FieldValue.QueryValue`). Empty text is never set.
    public func reading(for type: FieldType) -> FieldReading? {
        guard !self.text.isEmpty else { return nil }
        switch type {
        case .text: return .text(self.text)
        case .number: return self.number.map(FieldReading.number)
        case .datetime: return self.datetime.map(FieldReading.datetime)
        case .state: return self.state.map(FieldReading.location)
        case .district: return self.district.map(FieldReading.location)
        case .ward: return self.ward.map(FieldReading.location)
        }
    }

    /// Whether the value is set for a field of `type` in a workspace whose zone is `timeZone` (see
    /// ``reading(for:in:)``).
    public func isSet(for type: FieldType, in timeZone: @autoclosure () -> TimeZone) -> Bool {
        self.reading(for: type, in: timeZone()) != nil
    }

    /// Whether setting `other` over this value changes nothing (goflow's `Value.Equals`): the same text,
    /// code point for code point, and the same readings, datetimes to the microsecond they are stored with.
    ///
    /// Not `==`: Swift compares strings by canonical equivalence (``Swift/String/isCodePointEqual(to:)``),
    /// and a datetime decoded from an event may differ from a freshly parsed one below the microsecond.
    public func isSame(as other: FieldValue) -> Bool {
        func microseconds(_ date: Date?) -> Double? { date.map { ($0.timeIntervalSince1970 * 1_000_000).rounded() } }
        return self.text.isCodePointEqual(to: other.text) && self.number == other.number
            && microseconds(self.datetime) == microseconds(other.datetime) && self.state == other.state
            && self.district == other.district && self.ward == other.ward
    }
}
