// ContactLedger — contact domain.

import ContactDomain
import Foundation
import Testing

/// One row of the number table: the raw text and the expected number (`nil`: no number reading).
struct FieldNumberCase: Sendable, CustomTestStringConvertible {
    let text: String
    let expected: String?

    init(_ text: String, _ expected: String?) {
        self.text = text
        self.expected = expected
    }

    var testDescription: String { "\(self.text.debugDescription) → \(self.expected ?? "nil")" }
}

/// One row of the datetime table: text, workspace settings and the expected RFC 3339 reading in the workspace
/// timezone (`nil`: no datetime reading). `now` is ``FieldValueTests/now`` throughout.
struct FieldDateTimeCase: Sendable, CustomTestStringConvertible {
    let text: String
    let format: DateFormat
    let zone: String
    let expected: String?

    init(_ text: String, _ format: DateFormat, _ zone: String, _ expected: String?) {
        self.text = text
        self.format = format
        self.zone = zone
        self.expected = expected
    }

    init(_ text: String, _ format: DateFormat, _ expected: String?) {
        self.init(text, format, "UTC", expected)
    }

    var testDescription: String { "\(self.text.debugDescription) [\(self.format.rawValue), \(self.zone)]" }
}

@Suite("Field values: typed readings")
struct FieldValueTests {
    /// 2026-03-15T09:30:45.123456Z: 11:30:45 in Kigali (+02:00), 02:30:45 in Los Angeles (PDT, -07:00).
    static let now = Date(timeIntervalSince1970: 1_773_567_045.123456)

    static func environment(
        _ type: FieldType = .text, format: DateFormat = .yearMonthDay, zone: String = "UTC", now: Date = Self.now
    ) throws -> FieldParsingEnvironment {
        let timeZone = try #require(TimeZone(identifier: zone))
        return FieldParsingEnvironment(fieldType: type, timeZone: timeZone, dateFormat: format, now: now)
    }

    // MARK: Numbers

    static let numberCases: [FieldNumberCase] = [
        FieldNumberCase("39", "39"),
        FieldNumberCase(" 12 ", "12"),
        FieldNumberCase("\t42\n", "42"),
        FieldNumberCase("-12.5", "-12.5"),
        FieldNumberCase(".5", "0.5"),
        FieldNumberCase("-.5", "-0.5"),
        FieldNumberCase("0", "0"),
        FieldNumberCase("-0", "0"),
        FieldNumberCase("007", "7"),
        FieldNumberCase("3.14000", "3.14"),
        FieldNumberCase("1,000", nil),
        FieldNumberCase("1 000", nil),
        FieldNumberCase("1e5", nil),
        FieldNumberCase("+5", nil),
        FieldNumberCase("5.", nil),
        FieldNumberCase(".", nil),
        FieldNumberCase("-", nil),
        FieldNumberCase("--5", nil),
        FieldNumberCase("1.2.3", nil),
        FieldNumberCase("12abc", nil),
        FieldNumberCase("NaN", nil),
        FieldNumberCase("Infinity", nil),
        FieldNumberCase("١٢", nil),
        FieldNumberCase("nan", nil),
        FieldNumberCase(String(repeating: "9", count: 36), String(repeating: "9", count: 36)),
        FieldNumberCase(String(repeating: "9", count: 37), nil),
        FieldNumberCase("1" + String(repeating: "0", count: 100), "1" + String(repeating: "0", count: 100)),
        FieldNumberCase("1" + String(repeating: "0", count: 101), nil),
        FieldNumberCase("0." + String(repeating: "0", count: 99) + "1", "1e-100"),
        FieldNumberCase("0." + String(repeating: "0", count: 100) + "1", nil),
        FieldNumberCase("123456789012345678901234567890123456000", "123456789012345678901234567890123456000"),
        FieldNumberCase("-0.000123", "-0.000123"),
    ]

    @Test(arguments: Self.numberCases)
    func parsesNumbers(_ row: FieldNumberCase) throws {
        let value = FieldValue.parse(row.text, environment: try Self.environment(.number))
        #expect(value.text == row.text)
        if let expected = row.expected {
            #expect(value.number == Decimal(string: expected))
            #expect(value.reading(for: .number) == .number(try #require(Decimal(string: expected))))
        } else {
            #expect(value.number == nil)
            #expect(value.isSet(for: .number, in: .gmt) == false)
        }
    }

    // MARK: Datetimes

    static let dateTimeCases: [FieldDateTimeCase] = [
        // 1. full ISO-8601, taken as is
        FieldDateTimeCase("2020-01-01T10:45:30Z", .yearMonthDay, "2020-01-01T10:45:30.000000+00:00"),
        FieldDateTimeCase("2020-01-01T10:45Z", .dayMonthYear, "2020-01-01T10:45:00.000000+00:00"),
        FieldDateTimeCase("2020-01-01T10:45:30.123456789+05:30", .yearMonthDay, "2020-01-01T05:15:30.123456+00:00"),
        FieldDateTimeCase(" 2020-01-01T10:45:30-03:00 ", .monthDayYear, "2020-01-01T13:45:30.000000+00:00"),
        FieldDateTimeCase(
            "2020-01-01T10:45:30Z", .yearMonthDay, "America/Los_Angeles",
            "2020-01-01T02:45:30.000000-08:00"),
        // 2. ISO date prefix, any workspace order; no time → now's time of day
        FieldDateTimeCase("2020-01-01", .yearMonthDay, "2020-01-01T09:30:45.123456+00:00"),
        FieldDateTimeCase("2020-01-01", .dayMonthYear, "2020-01-01T09:30:45.123456+00:00"),
        FieldDateTimeCase("2020-01-01 15:20", .monthDayYear, "2020-01-01T15:20:00.000000+00:00"),
        FieldDateTimeCase("2020-01-01T10:30", .yearMonthDay, "2020-01-01T10:30:00.000000+00:00"),
        FieldDateTimeCase("2020-01-01T10:45:30", .yearMonthDay, "2020-01-01T10:45:30.000000+00:00"),
        FieldDateTimeCase("2020-01-01 24:00", .yearMonthDay, "2020-01-01T00:00:00.000000+00:00"),
        FieldDateTimeCase("2026-01-02", .yearMonthDay, "Africa/Kigali", "2026-01-02T11:30:45.123456+02:00"),
        // 3. date in the workspace order, anywhere in the text
        FieldDateTimeCase("26/06/2020", .dayMonthYear, "2020-06-26T09:30:45.123456+00:00"),
        FieldDateTimeCase("26.06.2020 3pm", .dayMonthYear, "2020-06-26T15:00:00.000000+00:00"),
        FieldDateTimeCase("born 5-7-1999 at 8:05", .dayMonthYear, "1999-07-05T08:05:00.000000+00:00"),
        FieldDateTimeCase("06/26/2020 10:30:15.5 am", .monthDayYear, "2020-06-26T10:30:15.500000+00:00"),
        FieldDateTimeCase("2020/06/26 12am", .yearMonthDay, "2020-06-26T00:00:00.000000+00:00"),
        FieldDateTimeCase("1/2/2020 12pm", .dayMonthYear, "2020-02-01T12:00:00.000000+00:00"),
        FieldDateTimeCase("1/2/2020 12pm", .monthDayYear, "2020-01-02T12:00:00.000000+00:00"),
        FieldDateTimeCase("1/2/2020 1030", .dayMonthYear, "2020-02-01T10:30:00.000000+00:00"),
        FieldDateTimeCase("2020\\06\\26 7:05:09", .yearMonthDay, "2020-06-26T07:05:09.000000+00:00"),
        FieldDateTimeCase("26_06_2020 10:30:45.123456789", .dayMonthYear, "2020-06-26T10:30:45.123456+00:00"),
        FieldDateTimeCase("26 06 2020 9 PM", .dayMonthYear, "2020-06-26T21:00:00.000000+00:00"),
        FieldDateTimeCase("26/06/2020 25:00", .dayMonthYear, "2020-06-26T09:30:45.123456+00:00"),
        FieldDateTimeCase("06-26-2020", .yearMonthDay, nil),
        FieldDateTimeCase("13/13/2020", .dayMonthYear, nil),
        FieldDateTimeCase("00/12/2020", .dayMonthYear, nil),
        // two-digit years pivot on the current year (2026): > 26 → 19xx, else 20xx
        FieldDateTimeCase("5-7-99", .dayMonthYear, "1999-07-05T09:30:45.123456+00:00"),
        FieldDateTimeCase("5_7_26", .dayMonthYear, "2026-07-05T09:30:45.123456+00:00"),
        FieldDateTimeCase("5 7 27", .dayMonthYear, "1927-07-05T09:30:45.123456+00:00"),
        FieldDateTimeCase("1/2/20", .monthDayYear, "2020-01-02T09:30:45.123456+00:00"),
        FieldDateTimeCase("20/1/2", .yearMonthDay, "2020-01-02T09:30:45.123456+00:00"),
        // impossible dates are skipped
        FieldDateTimeCase("30/02/2020", .dayMonthYear, nil),
        FieldDateTimeCase("2020-02-30", .yearMonthDay, nil),
        FieldDateTimeCase("29/02/2021", .dayMonthYear, nil),
        FieldDateTimeCase("29/02/2020", .dayMonthYear, "2020-02-29T09:30:45.123456+00:00"),
        FieldDateTimeCase("30/02/2020 or 01/03/2020", .dayMonthYear, "2020-03-01T09:30:45.123456+00:00"),
        // not dates
        FieldDateTimeCase("hello", .yearMonthDay, nil),
        FieldDateTimeCase("12", .dayMonthYear, nil),
        FieldDateTimeCase("10:30", .dayMonthYear, nil),
        FieldDateTimeCase("123/06/2020", .dayMonthYear, nil),
        // non-UTC workspaces: read and shown in the workspace timezone
        FieldDateTimeCase("02-01-2026 08:15", .dayMonthYear, "Africa/Kigali", "2026-01-02T08:15:00.000000+02:00"),
        FieldDateTimeCase("12/25/2026", .monthDayYear, "Africa/Kigali", "2026-12-25T11:30:45.123456+02:00"),
        FieldDateTimeCase(
            "2026-07-04 9:00 pm", .yearMonthDay, "America/Los_Angeles",
            "2026-07-04T21:00:00.000000-07:00"),
        FieldDateTimeCase("12/25/2026", .monthDayYear, "America/Los_Angeles", "2026-12-25T02:30:45.123456-08:00"),
        FieldDateTimeCase(
            "25-12-2026 23:59:59", .dayMonthYear, "America/Los_Angeles",
            "2026-12-25T23:59:59.000000-08:00"),
        // a spring-forward gap reads with the later offset, as Go does (02:30 → 01:30 standard time)
        FieldDateTimeCase("2026-03-08 02:30", .yearMonthDay, "America/Los_Angeles", "2026-03-08T01:30:00.000000-08:00"),
        // a fall-back overlap takes the first (daylight) occurrence
        FieldDateTimeCase("2026-11-01 01:30", .yearMonthDay, "America/Los_Angeles", "2026-11-01T01:30:00.000000-07:00"),
    ]

    @Test(arguments: Self.dateTimeCases)
    func parsesDateTimes(_ row: FieldDateTimeCase) throws {
        let environment = try Self.environment(.datetime, format: row.format, zone: row.zone)
        let value = FieldValue.parse(row.text, environment: environment)
        #expect(value.formattedDatetime(in: environment.timeZone) == row.expected)
        #expect(value.isSet(for: .datetime, in: .gmt) == (row.expected != nil))
    }

    @Test func fillsTheCurrentTimeOfDayInTheWorkspaceTimezone() throws {
        // 23:10 UTC on 14 March is already 01:10 on 15 March in Kigali: the date stays as written.
        let lateNow = Date(timeIntervalSince1970: 1_773_529_800)
        let kigali = try Self.environment(.datetime, format: .dayMonthYear, zone: "Africa/Kigali", now: lateNow)
        let value = FieldValue.parse("26/06/2020", environment: kigali)
        #expect(value.formattedDatetime(in: kigali.timeZone) == "2020-06-26T01:10:00.000000+02:00")

        let utc = try Self.environment(.datetime, format: .dayMonthYear, now: lateNow)
        #expect(
            FieldValue.parse("26/06/2020", environment: utc).formattedDatetime(in: utc.timeZone)
                == "2020-06-26T23:10:00.000000+00:00")
    }

    @Test func twoDigitYearsPivotOnNowsYear() throws {
        let in2090 = Date(timeIntervalSince1970: 3_786_912_000)  // 2090-01-01
        let environment = try Self.environment(.datetime, format: .dayMonthYear, now: in2090)
        let value = FieldValue.parse("5/7/89 10:00", environment: environment)
        #expect(value.formattedDatetime(in: environment.timeZone) == "2089-07-05T10:00:00.000000+00:00")
    }

    @Test func parsingIsDeterministic() throws {
        let environment = try Self.environment(.datetime, format: .dayMonthYear, zone: "Africa/Kigali")
        #expect(
            FieldValue.parse("1/2/2020", environment: environment)
                == FieldValue.parse("1/2/2020", environment: environment))
    }

    // MARK: Text and readings

    @Test func keepsRawTextUntrimmedAndTruncated() throws {
        let environment = try Self.environment()
        #expect(FieldValue.parse(" M ", environment: environment).text == " M ")
        let long = String(repeating: "é", count: 700)
        let value = FieldValue.parse(long, environment: environment)
        #expect(value.text.count == 640)
        #expect(value.text == String(repeating: "é", count: 640))
    }

    @Test func numbersAreReadFromTheKeptText() throws {
        let text = String(repeating: " ", count: 639) + "12"
        #expect(FieldValue.parse(text, environment: try Self.environment()).number == 1)
    }

    @Test func everyReadingIsComputedWhateverTheType() throws {
        let value = FieldValue.parse("2020", environment: try Self.environment(.text))
        #expect(value.number == 2020)
        #expect(value.datetime == nil)
        #expect(value.reading(for: .text) == .text("2020"))
        #expect(value.reading(for: .number) == .number(2020))
        #expect(value.reading(for: .datetime) == nil)
        #expect(value.reading(for: .state) == nil)
    }

    @Test func anUnparsableValueKeepsItsTextButIsNotSet() throws {
        let value = FieldValue.parse("nan", environment: try Self.environment(.number))
        #expect(value.text == "nan")
        #expect(value.isSet(for: .number, in: .gmt) == false)
        #expect(value.isSet(for: .text, in: .gmt))
    }

    @Test func emptyTextHasNoReadings() throws {
        let value = FieldValue.parse("", environment: try Self.environment(.text))
        #expect(value == FieldValue(text: ""))
        #expect(value.isSet(for: .text, in: .gmt) == false)
    }

    // MARK: JSON

    private static func encode(_ value: FieldValue, zone: String? = nil) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let zone {
            let timeZone = try #require(TimeZone(identifier: zone))
            encoder.userInfo[FieldValue.timeZoneUserInfoKey] = timeZone
        }
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func encodesTheWireShape() throws {
        let number = FieldValue.parse("23", environment: try Self.environment(.number))
        #expect(try Self.encode(number) == #"{"number":23,"text":"23"}"#)

        let kigali = try Self.environment(.datetime, zone: "Africa/Kigali")
        let joined = FieldValue.parse("2026-01-02 00:00", environment: kigali)
        #expect(
            try Self.encode(joined, zone: "Africa/Kigali")
                == #"{"datetime":"2026-01-02T00:00:00.000000+02:00","text":"2026-01-02 00:00"}"#)
        #expect(
            try Self.encode(joined) == #"{"datetime":"2026-01-01T22:00:00.000000+00:00","text":"2026-01-02 00:00"}"#)

        let plain = FieldValue.parse("x", environment: try Self.environment())
        #expect(try Self.encode(plain) == #"{"text":"x"}"#)
    }

    @Test func roundTripsThroughJSON() throws {
        let values = [
            FieldValue.parse("26/06/2020 10:30:15.123456", environment: try Self.environment(format: .dayMonthYear)),
            FieldValue.parse("2026-01-02", environment: try Self.environment(zone: "America/Los_Angeles")),
            FieldValue.parse("-0.000123", environment: try Self.environment()),
            FieldValue.parse(String(repeating: "9", count: 36), environment: try Self.environment()),
            FieldValue(text: "Gasabo", state: "Rwanda > Kigali City", district: "Rwanda > Kigali City > Gasabo"),
        ]
        for value in values {
            for zone in [nil, "Africa/Kigali", "America/Los_Angeles"] {
                let json = try Self.encode(value, zone: zone)
                #expect(try JSONDecoder().decode(FieldValue.self, from: Data(json.utf8)) == value)
            }
        }
    }

    @Test func refusesANonRFC3339Datetime() {
        let json = #"{"text":"x","datetime":"26/06/2020"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(FieldValue.self, from: Data(json.utf8)) }
    }

    @Test(arguments: [
        ("2026-01-02T00:00:00.000000+02:00", "2026-01-01T22:00:00.000000+00:00"),
        ("1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999+00:00"),
        ("2000-02-29T12:00:00.5-09:30", "2000-02-29T21:30:00.500000+00:00"),
    ])
    func formatsAndParsesRFC3339(_ text: String, _ utc: String) throws {
        let date = try #require(FieldDateTimeFormat.date(from: text))
        #expect(FieldDateTimeFormat.string(from: date, in: .gmt) == utc)
    }

    // MARK: Display

    /// How a value is displayed (§3.2 "Display"), as exports show it: the reading the type selects, a
    /// datetime in the workspace's zone and order to the minute, a number as `contacts.get` writes it, a
    /// location by name, nothing when the value is not set for the type. Each display reads back as the
    /// same reading.
    @Test(arguments: [
        ("2023-05-17T10:30:45Z", FieldType.datetime, DateFormat.dayMonthYear, "Africa/Kigali", "17-05-2023 12:30"),
        ("2023-05-17T10:30:45Z", .datetime, .monthDayYear, "America/New_York", "05-17-2023 06:30"),
        ("2023-05-17T23:30:00Z", .datetime, .yearMonthDay, "Africa/Kigali", "2023-05-18 01:30"),
        ("not a date", .datetime, .dayMonthYear, "Africa/Kigali", nil),
        ("007", .number, .dayMonthYear, "UTC", "7"),
        (" 1.50 ", .number, .dayMonthYear, "UTC", "1.5"),
        ("-.5", .number, .dayMonthYear, "UTC", "-0.5"),
        ("lots", .number, .dayMonthYear, "UTC", nil),
        (" M ", .text, .dayMonthYear, "UTC", " M "),
        ("", .text, .dayMonthYear, "UTC", nil),
    ] as [(String, FieldType, DateFormat, String, String?)])
    func displaysTheReadingOfItsType(
        _ text: String, _ type: FieldType, _ format: DateFormat, _ zone: String, _ shown: String?
    ) throws {
        let environment = try Self.environment(type, format: format, zone: zone)
        let value = FieldValue.parse(text, environment: environment)
        let displayed = value.displayText(for: type, timeZone: environment.timeZone, dateFormat: format)
        #expect(displayed == shown)
        guard let displayed else { return }
        let again = FieldValue.parse(displayed, environment: environment)
        switch type {
        case .datetime:
            // The minute is kept, the seconds are not shown.
            let minute = { (date: Date?) in date.map { Int($0.timeIntervalSince1970 / 60) } }
            #expect(minute(again.datetime) == minute(value.datetime))
        default:
            #expect(again.reading(for: type) == value.reading(for: type))
        }
    }

    @Test func displaysALocationByItsName() throws {
        let hierarchy = try LocationHierarchy(root: LocationNode(name: "Rwanda", children: [LocationNode(name: "Kigali City")]))
        let environment = FieldParsingEnvironment(fieldType: .state, now: Self.now, locations: hierarchy)
        let value = FieldValue.parse("kigali city", environment: environment)
        #expect(value.state == "Rwanda > Kigali City")
        #expect(value.displayText(for: .state, timeZone: .gmt, dateFormat: .yearMonthDay) == "Kigali City")
        #expect(value.displayText(for: .district, timeZone: .gmt, dateFormat: .yearMonthDay) == nil)
    }
}

/// A full ISO timestamp with an offset is that instant whatever its spelling (behaviour reference §3.2:
/// "taken as is"): `-0800`, `-08`, a space or `t` before the time, `z` (found by the dates audit: they were read
/// as wall-clock times in the workspace zone, the offset dropped, 13.5 h wrong in Kolkata; `t` lost its time).
/// A reading whose date in the workspace zone has no four-digit year is none (`10000-01-01` in Kolkata).
@Suite("Field values: ISO timestamps with an offset")
struct FieldISOTimestampTests {
    @Test(arguments: [
        ("2023-05-17T10:30:00-0800", "2023-05-18T00:00:00.000000+05:30"),
        ("2023-05-17T10:30:00-08", "2023-05-18T00:00:00.000000+05:30"),
        ("2023-05-17 10:30:00-08:00", "2023-05-18T00:00:00.000000+05:30"),
        ("2023-05-17 10:30:00Z", "2023-05-17T16:00:00.000000+05:30"),
        ("2020-01-01t10:45:30Z", "2020-01-01T16:15:30.000000+05:30"),
        ("2020-01-01T10:45:30z", "2020-01-01T16:15:30.000000+05:30"),
        ("2020-01-01 10:45Z", "2020-01-01T16:15:00.000000+05:30"),
        ("2020-01-01 10:45:30.1234567-0130", "2020-01-01T17:45:30.123456+05:30"),
        // ISO 8601: 24:00 ends the day (the next day's 00:00); a leap second is the next minute's :00.
        ("2020-01-01T24:00:00Z", "2020-01-02T05:30:00.000000+05:30"),
        ("2020-01-01T24:00:00+05:30", "2020-01-02T00:00:00.000000+05:30"),
        ("2016-12-31T23:59:60Z", "2017-01-01T05:30:00.000000+05:30"),
        // Without an offset: a wall-clock time in the workspace zone, as before.
        ("2023-05-17 10:30:00", "2023-05-17T10:30:00.000000+05:30"),
        ("2023-05-17T10:30", "2023-05-17T10:30:00.000000+05:30"),
        // Not an offset: the time is read and the rest ignored, as before.
        ("2023-05-17T10:30:00+5", "2023-05-17T10:30:00.000000+05:30"),
        // Outside years 0001–9999 in the workspace zone: no reading, the text only.
        ("9999-12-31T23:59:59Z", nil),
        ("9999-12-31T18:29:59Z", "9999-12-31T23:59:59.000000+05:30"),
    ] as [(String, String?)])
    func anOffsetNamesThatInstant(text: String, expected: String?) throws {
        let environment = try FieldValueTests.environment(.datetime, zone: "Asia/Kolkata")
        let value = FieldValue.parse(text, environment: environment)
        #expect(value.formattedDatetime(in: environment.timeZone) == expected, "\(text)")
        #expect(value.text == text)
    }

    /// The same text as an event writes and reads it: a reading that no zone's year can write is left out,
    /// and one a log already holds with a five-digit or signed year reads back as text only (the log of an
    /// older version replays; it was `undecodable`).
    @Test func aLoggedReadingOutsideFourDigitYearsIsDropped() throws {
        for datetime in ["10000-01-01T04:30:00.000000+05:30", "-0001-12-31T23:00:00.000000-05:00", "0000-12-31T19:00:00.000000-05:00"] {
            let json = #"{"text":"x","datetime":"\#(datetime)"}"#
            let value = try JSONDecoder().decode(FieldValue.self, from: Data(json.utf8))
            #expect(value == FieldValue(text: "x"), "\(datetime)")
        }
        // Damaged text still fails.
        let damaged = #"{"text":"x","datetime":"10000-01-01"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(FieldValue.self, from: Data(damaged.utf8)) }
        // A value read in UTC and shown in Kolkata, where its date is 10000-01-01: no RFC 3339 text.
        let late = try #require(FieldDateTimeFormat.date(from: "9999-12-31T23:00:00Z"))
        let kolkata = try #require(TimeZone(identifier: "Asia/Kolkata"))
        let value = FieldValue(text: "9999-12-31T23:00:00Z", datetime: late)
        #expect(value.formattedDatetime(in: kolkata) == nil)
        #expect(value.displayText(for: .datetime, timeZone: kolkata, dateFormat: .yearMonthDay) == nil)
        #expect(value.formattedDatetime(in: .gmt) == "9999-12-31T23:00:00.000000+00:00")
    }
}
