// ContactLedger — contact domain.

import Foundation
import JSONText

extension FieldValue {
    /// Parses raw input into a value with every typed reading that applies (behaviour reference §3.2).
    ///
    /// - The text is kept as given (not trimmed), truncated to ``maxTextLength`` characters; the readings are
    ///   computed from the kept text.
    /// - `number`: the trimmed text as `-?` digits, digits`.`digits or `.`digits; ≤ 36 significant digits,
    ///   magnitude within 10^±100.
    /// - `datetime`: full ISO-8601, else an ISO date prefix, else a date in the workspace order; an optional time;
    ///   without a time the time of day of `environment.replacedDatetime`, else of `environment.now`, is filled in
    ///   (workspace timezone).
    /// - locations (only with `environment.locations`): text containing `>` is looked up as a path at any level;
    ///   otherwise a fuzzy name match at the level of `environment.fieldType` — a district only inside
    ///   `currentState`, a ward only inside `currentDistrict`. A match stores its path and its parents' paths.
    ///
    /// Empty text means "clear the value"; that is the caller's decision (this returns a value with no readings).
    ///
    /// ```swift
    /// let env = FieldParsingEnvironment(fieldType: .number, now: .now)
    /// FieldValue.parse(" 12 ", environment: env).number   // 12
    /// ```
    ///
    /// - Parameters:
    ///   - text: the raw input.
    ///   - environment: workspace settings, clock, hierarchy and the contact's current locations.
    /// - Returns: the value; parsing never fails, a reading that doesn't parse is simply absent.
    public static func parse(_ text: String, environment: FieldParsingEnvironment) -> FieldValue {
        let kept = text.prefix(codePoints: Self.maxTextLength)
        var value = FieldValue(text: kept)
        guard !kept.isEmpty else { return value }
        value.number = FieldNumberParser.parse(kept)
        value.datetime = FieldDateTimeParser.parse(
            kept, timeZone: environment.timeZone, dateFormat: environment.dateFormat, now: environment.now,
            timeOfDay: environment.replacedDatetime)
        if let hierarchy = environment.locations,
            let match = hierarchy.resolve(
                kept, for: environment.fieldType, currentState: environment.currentState,
                currentDistrict: environment.currentDistrict)
        {
            value.state = match.statePath
            value.district = match.districtPath
            value.ward = match.wardPath
        }
        return value
    }
}
