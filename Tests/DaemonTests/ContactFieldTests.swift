// ContactLedger — daemon tests: custom field definitions and typed values (behaviour reference §3).
import Foundation
import RPC
import Testing

/// One value typed into a `number` or `datetime` field in a workspace with a timezone and date format.
struct FieldValueCase: Sendable, CustomTestStringConvertible {
    enum Expectation: Sendable {
        /// The `number` reading.
        case number(Double)
        /// The exact `datetime` reading.
        case datetime(String)
        /// A date without a time: the time of day is "now", so only the date and the offset are certain.
        case date(String, offset: String)
        /// No reading of the field's type.
        case none
    }

    var type: String
    var input: String
    var timezone: String
    var dateFormat: String
    var expectation: Expectation

    static func number(_ input: String, _ value: Double?) -> FieldValueCase {
        FieldValueCase(type: "number", input: input, timezone: "Africa/Kigali", dateFormat: "YYYY-MM-DD", expectation: value.map { .number($0) } ?? .none)
    }

    static func datetime(_ timezone: String, _ format: String, _ input: String, _ expected: String?) -> FieldValueCase {
        FieldValueCase(type: "datetime", input: input, timezone: timezone, dateFormat: format, expectation: expected.map { .datetime($0) } ?? .none)
    }

    static func date(_ timezone: String, _ format: String, _ input: String, _ day: String, offset: String) -> FieldValueCase {
        FieldValueCase(type: "datetime", input: input, timezone: timezone, dateFormat: format, expectation: .date(day, offset: offset))
    }

    var testDescription: String { "\(self.type) \(self.input.debugDescription) [\(self.timezone), \(self.dateFormat)]" }
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ContactFieldTests {
    static let kigali = "Africa/Kigali"
    static let newYork = "America/New_York"
    static let ymd = "YYYY-MM-DD"
    static let dmy = "DD-MM-YYYY"
    static let mdy = "MM-DD-YYYY"

    static let valueCases: [FieldValueCase] = [
        // Numbers: -? digits, digits.digits, .digits; trimmed; no separators, exponent or leading +.
        .number("39", 39),
        .number(" 12 ", 12),
        .number("-5", -5),
        .number("12.50", 12.5),
        .number(".5", 0.5),
        .number("-0.75", -0.75),
        .number("0", 0),
        .number("007", 7),
        .number("0.000001", 0.000001),
        .number("123456789012345678901234567890123456", 1.23456789012345678901234567890123456e35),
        .number("1234567890123456789012345678901234567", nil),
        .number("1,000", nil),
        .number("1 000", nil),
        .number("1e10", nil),
        .number("+5", nil),
        .number("5.", nil),
        .number("--5", nil),
        .number("12abc", nil),
        .number("abc", nil),
        .number("1.2.3", nil),
        // Full ISO-8601 is taken as is and shown in the workspace timezone.
        .datetime(kigali, ymd, "2020-01-01T10:45:30Z", "2020-01-01T12:45:30.000000+02:00"),
        .datetime(kigali, dmy, "2020-01-01T10:45:30Z", "2020-01-01T12:45:30.000000+02:00"),
        .datetime(newYork, ymd, "2020-01-01T10:45:30Z", "2020-01-01T05:45:30.000000-05:00"),
        .datetime(newYork, mdy, "2020-07-01T10:45:30.123456Z", "2020-07-01T06:45:30.123456-04:00"),
        .datetime(kigali, ymd, "2020-01-01T10:45:30.5+05:00", "2020-01-01T07:45:30.500000+02:00"),
        .datetime(kigali, ymd, "2020-01-01T10:45Z", "2020-01-01T12:45:00.000000+02:00"),
        .datetime(kigali, ymd, "  2020-06-26T10:00:00Z  ", "2020-06-26T12:00:00.000000+02:00"),
        .datetime(newYork, ymd, "2020-11-01T01:30:00-04:00", "2020-11-01T01:30:00.000000-04:00"),
        .datetime(newYork, ymd, "2020-11-01T06:30:00Z", "2020-11-01T01:30:00.000000-05:00"),
        // ISO date prefix, then a time in the rest.
        .datetime(newYork, ymd, "2020-07-04 12:00", "2020-07-04T12:00:00.000000-04:00"),
        .datetime(kigali, dmy, "2020-06-26 08:00", "2020-06-26T08:00:00.000000+02:00"),
        // Dates in the workspace order, any separator, anywhere in the text; local times in the workspace zone.
        .datetime(kigali, dmy, "26-06-2020 14:30", "2020-06-26T14:30:00.000000+02:00"),
        .datetime(kigali, dmy, "26.06.2020 14:30:15.250", "2020-06-26T14:30:15.250000+02:00"),
        .datetime(kigali, dmy, "1/2/2021 8:15 pm", "2021-02-01T20:15:00.000000+02:00"),
        .datetime(kigali, dmy, "26/06/20 10:00", "2020-06-26T10:00:00.000000+02:00"),
        .datetime(kigali, dmy, "01-01-99 10:00", "1999-01-01T10:00:00.000000+02:00"),
        .datetime(kigali, mdy, "06/26/2020 09:05", "2020-06-26T09:05:00.000000+02:00"),
        .datetime(kigali, mdy, "12/13/2020 10:00", "2020-12-13T10:00:00.000000+02:00"),
        .datetime(newYork, mdy, "12-25-2020 10:30 am", "2020-12-25T10:30:00.000000-05:00"),
        .datetime(newYork, mdy, "07/04/2020 9:00", "2020-07-04T09:00:00.000000-04:00"),
        .datetime(newYork, dmy, "04/07/2020 9:00", "2020-07-04T09:00:00.000000-04:00"),
        .datetime(newYork, ymd, "2020/07/04 23:59:59", "2020-07-04T23:59:59.000000-04:00"),
        .datetime(kigali, ymd, "born on 2021-03-04 at 7:30", "2021-03-04T07:30:00.000000+02:00"),
        // Dates without a time get the current time of day.
        .date(kigali, ymd, "2020-06-26", "2020-06-26", offset: "+02:00"),
        .date(kigali, dmy, "26/06/2020", "2020-06-26", offset: "+02:00"),
        .date(newYork, mdy, "06/26/2020", "2020-06-26", offset: "-04:00"),
        .date(newYork, dmy, "10.03.2020", "2020-03-10", offset: "-04:00"),
        .date(newYork, dmy, "15 01 2021", "2021-01-15", offset: "-05:00"),
        // Not dates.
        .datetime(kigali, dmy, "hello", nil),
        .datetime(kigali, ymd, "2020-13-45", nil),
        .datetime(kigali, dmy, "30/02/2020", nil),
        .datetime(kigali, dmy, "12/13/2020", nil),
        .datetime(kigali, mdy, "13/12/2020", nil),
    ]

    @Test(arguments: valueCases)
    func typedReading(_ item: FieldValueCase) throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["timezone": .string(item.timezone), "date_format": .string(item.dateFormat)])
        try daemon.call("fields.create", ["key": "value", "type": .string(item.type)])
        let uuid = try #require(try daemon.call("contacts.create", ["name": "V"]).string("uuid"))
        let contact = try ContactKit.modify(daemon, uuid, [ContactKit.field("value", item.input)])
        let value = try #require(contact["fields"]?["value"])
        let stored = try ContactKit.get(daemon, uuid)["fields"]?["value"]
        #expect(stored == value)
        // A value that does not parse as its field's type counts as not set: the API shows null
        // (behaviour reference §3.2), and its text stays in the ledger (the event below).
        if case .none = item.expectation {
            #expect(value == .null, "\(value)")
        } else {
            #expect(value.string("text") == item.input)
        }
        switch item.expectation {
        case .number(let expected):
            let number = try #require(ContactKit.double(value["number"]), "no number in \(value)")
            #expect(abs(number - expected) <= abs(expected) * 1e-12, "\(number) != \(expected)")
        case .datetime(let expected):
            #expect(value.string("datetime") == expected)
        case .date(let day, let offset):
            let datetime = try #require(value.string("datetime"), "no datetime in \(value)")
            #expect(datetime.hasPrefix(day + "T"), "\(datetime)")
            #expect(datetime.hasSuffix(offset), "\(datetime)")
            // RFC 3339 with six fractional digits.
            #expect(datetime.count == "2020-01-01T00:00:00.000000+00:00".count, "\(datetime)")
            #expect(datetime.dropFirst(19).first == ".", "\(datetime)")
        case .none:
            break
        }
        // The event carries the same value.
        let events = try ContactKit.history(daemon, uuid, types: ["contact_field_changed"])
        #expect(events.count == 1)
        #expect(events.first?["data"]?["value"]?.string("text") == item.input)
        #expect(events.first?["data"]?["field"]?.string("key") == "value")
    }

    @Test func emptyClearsAndTheSameValueIsANoOp() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let uuid = try #require(try daemon.call("contacts.create", ["name": "A"]).string("uuid"))
        let set = try ContactKit.modify(daemon, uuid, [ContactKit.field("age", "23")])
        #expect(ContactKit.double(set["fields"]?["age"]?["number"]) == 23)
        // Same value: version unchanged, no event, seq is the head.
        let head = try ContactKit.head(daemon)
        let same = try ContactKit.modify(daemon, uuid, [ContactKit.field("age", "23")])
        #expect(same.int("version") == set.int("version"))
        #expect(same.int("seq") == head)
        #expect(try ContactKit.head(daemon) == head)
        // "" clears: the value is null and the event says so.
        let cleared = try ContactKit.modify(daemon, uuid, [ContactKit.field("age", "")])
        #expect(cleared["fields"]?["age"] == .null)
        #expect(cleared.int("version") == (set.int("version") ?? 0) + 1)
        let events = try ContactKit.history(daemon, uuid, types: ["contact_field_changed"])
        #expect(events.count == 2)
        #expect(events.first?["data"]?["value"] == .null)
        // Clearing what is already clear is a no-op too.
        let again = try ContactKit.modify(daemon, uuid, [ContactKit.field("age", "")])
        #expect(again.int("version") == cleared.int("version"))
        // A JSON null clears as well.
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.field("age", "40")])
        let nulled = try ContactKit.modify(daemon, uuid, [["type": "field", "field": "age", "value": .null]])
        #expect(nulled["fields"]?["age"] == .null)
        // Text is kept raw (not trimmed): " 23 " differs from "23" as text, and still reads 23.
        let raw = try ContactKit.modify(daemon, uuid, [ContactKit.field("age", " 23 ")])
        #expect(raw["fields"]?["age"]?.string("text") == " 23 ")
        #expect(ContactKit.double(raw["fields"]?["age"]?["number"]) == 23)
        // An undefined key is -32001 naming the field.
        let unknown = try ContactKit.modifyError(daemon, uuid, [ContactKit.field("nope", "1")])
        #expect(unknown.code == -32001)
        #expect(unknown.data("kind") == "field")
        #expect(unknown.data("id") == "nope")
    }

    @Test func valuesAreTruncatedTo640Characters() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "notes", "type": "text"])
        let uuid = try #require(try daemon.call("contacts.create", ["name": "N"]).string("uuid"))
        let long = String(repeating: "é", count: 600) + String(repeating: "z", count: 100)
        let contact = try ContactKit.modify(daemon, uuid, [ContactKit.field("notes", long)])
        let text = try #require(contact["fields"]?["notes"]?.string("text"))
        #expect(text.count == 640)
        #expect(text == String(long.prefix(640)))
        // Setting the long text again is a no-op (it truncates to the same value).
        let again = try ContactKit.modify(daemon, uuid, [ContactKit.field("notes", long)])
        #expect(again.int("version") == contact.int("version"))
        // Through contacts.create too.
        let created = try daemon.call("contacts.create", ["fields": ["notes": .string(long)]])
        #expect(created["fields"]?["notes"]?.string("text")?.count == 640)
    }

    /// Text limits count code points (Go runes, Python `len`, JSON Schema `maxLength`), not Swift's
    /// characters: CRLF pairs, combining accents and flags each counted one, and text past every limit
    /// was kept (a 1,200 code point value stored at 768, names over 128, 64 and 36 taken).
    @Test func lengthsAreCountedInCodePoints() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "notes", "type": "text"])
        let uuid = try #require(try daemon.call("contacts.create", ["name": "N"]).string("uuid"))
        let lines = String(repeating: "line\r\n", count: 200)
        let stored = try #require(try ContactKit.modify(daemon, uuid, [ContactKit.field("notes", lines)])["fields"]?["notes"]?.string("text"))
        #expect(stored.unicodeScalars.count == 640)
        #expect(stored.unicodeScalars.elementsEqual(lines.unicodeScalars.prefix(640)))

        let accented = String(repeating: "e\u{301}", count: 65)  // 130 code points, 65 characters
        let name = try daemon.error("contacts.create", ["name": .string(accented)])
        #expect(name.code == -32006)
        #expect(name.data("field") == "name")
        #expect(name.data("limit") == 128)
        #expect(try daemon.call("contacts.create", ["name": .string(String(accented.unicodeScalars.prefix(128).map(Character.init)))]).string("uuid") != nil)

        let flags = String(repeating: "\u{1F1F7}\u{1F1FC}", count: 40)  // 80 code points, 40 characters
        let group = try daemon.error("groups.create", ["name": .string(flags)])
        #expect(group.code == -32006)
        #expect(group.data("field") == "name")
        #expect(group.data("limit") == 64)
        #expect(try daemon.call("groups.create", ["name": .string(String(repeating: "\u{1F1F7}\u{1F1FC}", count: 32))]).string("uuid") != nil)
    }

    /// A group's name may hold no quote nor backslash (it is quoted in queries), also when a combining mark
    /// follows it: as Swift characters, `"\u{301}` is no quote, and such a name was taken.
    @Test func groupNamesRefuseQuotesFollowedByCombiningMarks() throws {
        let daemon = try DaemonHarness()
        for name in ["x\"\u{301}y", "x\\\u{301}y", "x\"y"] {
            let error = try daemon.error("groups.create", ["name": .string(name)])
            #expect(error.code == -32602, "\(name.unicodeScalars.map(\.value))")
            #expect(error.data("field") == "name")
            #expect(error.data("reason") == "invalid_character")
        }
        #expect(try daemon.call("groups.create", ["name": "Caf\u{E9}"]).string("uuid") != nil)
    }

    /// A contact's or a group's name changed to its other Unicode form (NFD for NFC) is a change, as for
    /// field values: Swift's == took them for the same, and the old form was kept with no event.
    @Test func namesInAnotherUnicodeFormAreAChange() throws {
        let daemon = try DaemonHarness()
        let created = try daemon.call("contacts.create", ["name": "Jos\u{E9}"])
        let uuid = try #require(created.string("uuid"))
        let renamed = try ContactKit.modify(daemon, uuid, [["type": "name", "name": "Jose\u{301}"]])
        #expect(renamed.int("version") == (created.int("version") ?? 0) + 1)
        #expect(renamed.string("name")?.unicodeScalars.count == 5)
        #expect(try ContactKit.modify(daemon, uuid, [["type": "name", "name": "Jose\u{301}"]]).int("version") == renamed.int("version"))
        let group = try daemon.call("groups.create", ["name": "Caf\u{E9}"])
        let updated = try daemon.call("groups.update", ["uuid": .string(group.string("uuid") ?? ""), "name": "Cafe\u{301}"])
        #expect(updated.string("name")?.unicodeScalars.count == 5)
        #expect((updated.int("seq") ?? 0) > (group.int("seq") ?? 0))
    }

    /// Sending a field's current text again parses it again, as goflow's field modifier does, and
    /// changes the value when a reading differs: a district inside the contact's new state, a state
    /// once the locations are set, a date under another date format. The text alone was compared, so
    /// these kept their old readings with no event.
    @Test func theSameTextIsReadAgain() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "st", "type": "state"])
        try daemon.call("fields.create", ["key": "di", "type": "district"])
        try daemon.call("fields.create", ["key": "born", "type": "datetime"])
        try daemon.call("workspace.configure", ["date_format": "YYYY-MM-DD", "timezone": "Africa/Kigali"])
        let uuid = try #require(try daemon.call("contacts.create", ["name": "R"]).string("uuid"))
        func set(_ key: String, _ text: String) throws -> JSONValue { try ContactKit.modify(daemon, uuid, [ContactKit.field(key, text)]) }

        // A state set before the locations: text only. Sent again once they are set, it resolves.
        let early = try set("st", "Kigali City")
        #expect(early["fields"]?["st"] == .null)
        try daemon.call("workspace.set_locations", [
            "hierarchy": [
                "name": "Rwanda",
                "children": [
                    ["name": "Kigali City", "children": [["name": "Nyarugenge"]]],
                    ["name": "Eastern Province", "children": [["name": "Nyarugenge"]]],
                ],
            ]
        ])
        let resolved = try set("st", "Kigali City")
        #expect(resolved["fields"]?["st"]?.string("state") == "Rwanda > Kigali City")
        #expect(resolved.int("version") == (early.int("version") ?? 0) + 1)

        // The district follows the contact's new state when its text is sent again.
        #expect(try set("di", "Nyarugenge")["fields"]?["di"]?.string("district") == "Rwanda > Kigali City > Nyarugenge")
        _ = try set("st", "Eastern Province")
        #expect(try set("di", "Nyarugenge")["fields"]?["di"]?.string("district") == "Rwanda > Eastern Province > Nyarugenge")

        // A date in another order reads once the workspace's date format is that order.
        #expect(try set("born", "26/06/2020")["fields"]?["born"] == .null)
        try daemon.call("workspace.configure", ["date_format": "DD-MM-YYYY"])
        let dated = try set("born", "26/06/2020")
        #expect(dated["fields"]?["born"]?.string("datetime")?.hasPrefix("2020-06-26T") == true)
        // Sent again, a date without a time reads as it did (the time of day it was given first): no event.
        usleep(5_000)
        let redated = try set("born", "26/06/2020")
        #expect(redated.int("version") == dated.int("version"))
        #expect(redated["fields"]?["born"] == dated["fields"]?["born"])

        // Text and readings the same: still no event (a full datetime read again to the microsecond).
        let full = try set("born", "2020-06-26T10:45:30.123456Z")
        let head = try ContactKit.head(daemon)
        let again = try set("born", "2020-06-26T10:45:30.123456Z")
        #expect(again.int("version") == full.int("version"))
        #expect(try ContactKit.head(daemon) == head)
        #expect(try set("di", "Nyarugenge").int("seq") == head)
        // The same text in another Unicode form is other text (goflow compares the bytes).
        _ = try set("st", "Caf\u{E9}")
        let decomposed = try set("st", "Cafe\u{301}")
        #expect(decomposed["fields"]?["st"] == .null)
        #expect(try ContactKit.head(daemon) == head + 2)
    }

    struct DefinitionError: Sendable, CustomTestStringConvertible {
        var key: String
        var name: String?
        var field: String
        var reason: String?
        /// A length over its limit is -32006 with `data.limit`; any other broken rule -32602.
        var limit: Int?
        var testDescription: String { "key \(self.key.debugDescription) name \(self.name?.debugDescription ?? "-")" }
    }

    static let definitionErrors: [DefinitionError] = [
        DefinitionError(key: "Age", field: "key"),
        DefinitionError(key: "1age", field: "key"),
        DefinitionError(key: "_age", field: "key"),
        DefinitionError(key: "age-x", field: "key"),
        DefinitionError(key: "age x", field: "key"),
        DefinitionError(key: "", field: "key"),
        DefinitionError(key: "âge", field: "key"),
        DefinitionError(key: String(repeating: "k", count: 37), field: "key", reason: "key_too_long", limit: 36),
        DefinitionError(key: "has", field: "key", reason: "reserved_key"),
        DefinitionError(key: "is", field: "key", reason: "reserved_key"),
        DefinitionError(key: "fields", field: "key", reason: "reserved_key"),
        DefinitionError(key: "urns", field: "key", reason: "reserved_key"),
        DefinitionError(key: "created_on", field: "key", reason: "reserved_key"),
        DefinitionError(key: "last_seen_on", field: "key", reason: "reserved_key"),
        DefinitionError(key: "age", name: "Age_Years", field: "name"),
        DefinitionError(key: "age", name: " Age", field: "name"),
        DefinitionError(key: "age", name: "Age ", field: "name"),
        DefinitionError(key: "age", name: "Age!", field: "name"),
        DefinitionError(key: "age", name: "", field: "name"),
        DefinitionError(key: "age", name: String(repeating: "n", count: 37), field: "name", reason: "name_too_long", limit: 36),
        // 60 code points in 30 characters: limits count code points, as the reference and the Schemas do.
        DefinitionError(key: "age", name: String(repeating: "e\u{301}", count: 30), field: "name", reason: "name_too_long", limit: 36),
    ]

    @Test(arguments: definitionErrors)
    func definitionRules(_ item: DefinitionError) throws {
        let daemon = try DaemonHarness()
        var params: [String: JSONValue] = ["key": .string(item.key), "type": "text"]
        if let name = item.name { params["name"] = .string(name) }
        let error = try daemon.error("fields.create", .object(params))
        #expect(error.code == (item.limit == nil ? -32602 : -32006))
        #expect(error.data("limit")?.integerValue == item.limit.map { Int64($0) })
        #expect(error.data("field")?.stringValue == item.field)
        if let reason = item.reason { #expect(error.data("reason")?.stringValue == reason) }
        #expect(try ContactKit.head(daemon) == 0)
    }

    @Test func definitionsAcceptTheEdgesAndRefuseDuplicates() throws {
        let daemon = try DaemonHarness()
        let longest = String(repeating: "k", count: 36)
        let field = try daemon.call("fields.create", ["key": .string(longest), "name": .string(String(repeating: "N", count: 36)), "type": "number"])
        #expect(field.string("key") == longest)
        #expect(field.string("type") == "number")
        // A name is derived from the key when absent.
        // The type is required (the contract's `{key, name?, type}`); it was taken as text.
        for params: JSONValue in [["key": "untyped"], ["key": "untyped", "type": .null]] {
            let untyped = try daemon.error("fields.create", params)
            #expect(untyped.code == -32602 && untyped.data("field")?.stringValue == "type", "\(untyped)")
        }
        let derived = try daemon.call("fields.create", ["key": "first_name", "type": "text"])
        #expect(derived.string("name") == "First Name")
        #expect(derived.string("type") == "text")
        // Keys equal to contact attributes are allowed.
        _ = try daemon.call("fields.create", ["key": "language", "name": "Language Spoken", "type": "text"])
        // Letters, digits, hyphens and inner spaces in names.
        _ = try daemon.call("fields.create", ["key": "dob", "name": "Date of Birth-2", "type": "datetime"])
        let keyTaken = try daemon.error("fields.create", ["key": "dob", "name": "Other", "type": "text"])
        #expect(keyTaken.code == -32002)
        let nameTaken = try daemon.error("fields.create", ["key": "dob2", "name": "date OF birth-2", "type": "text"])
        #expect(nameTaken.code == -32002)
        #expect(nameTaken.data("field") == "name")
        let badType = try daemon.error("fields.create", ["key": "x", "type": "boolean"])
        #expect(badType.code == -32602)
        #expect(badType.data("field") == "type")
        // A renamed field frees its old name.
        _ = try daemon.call("fields.update", ["key": "dob", "name": "Birthday"])
        _ = try daemon.call("fields.create", ["key": "dob2", "name": "Date of Birth-2", "type": "text"])
        let badRename = try daemon.error("fields.update", ["key": "dob2", "name": "Bad_Name"])
        #expect(badRename.code == -32602)
        #expect(badRename.data("field") == "name")
        let longRename = try daemon.error("fields.update", ["key": "dob2", "name": .string(String(repeating: "n", count: 37))])
        #expect(longRename.code == -32006)
        #expect(longRename.data("limit") == 36)
        #expect(longRename.data("field") == "name")
    }

    @Test func atMost250Fields() throws {
        let daemon = try DaemonHarness()
        _ = try onThreads(10) { thread in
            for index in stride(from: thread, to: 250, by: 10) {
                try daemon.call("fields.create", ["key": .string("f\(index)"), "type": "text"])
            }
            return 0
        }
        #expect(try daemon.call("workspace.get")["counts"]?.int("fields") == 250)
        let error = try daemon.error("fields.create", ["key": "f250", "type": "text"])
        #expect(error.code == -32006)
        #expect(error.data("limit") == 250)
        // Another workspace has its own 250.
        _ = try daemon.call("fields.create", ["key": "f250", "workspace": "other", "type": "text"])
        // Deleting one makes room.
        _ = try daemon.call("fields.delete", ["key": "f0"])
        _ = try daemon.call("fields.create", ["key": "f250", "type": "text"])
    }

    @Test func deletingAFieldDropsValuesButHistoryKeepsThem() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "nickname", "type": "text"])
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let contact = try daemon.call("contacts.create", ["name": "D", "fields": ["nickname": "Dodo", "age": "31"]])
        let uuid = try #require(contact.string("uuid"))
        #expect(contact["fields"]?["nickname"]?.string("text") == "Dodo")
        _ = try daemon.call("fields.delete", ["key": "nickname"])
        let after = try ContactKit.get(daemon, uuid)
        #expect(after["fields"]?["nickname"] == nil)
        #expect(!ContactKit.mentions(after, "Dodo"))
        #expect(after["fields"]?["age"]?.string("text") == "31")
        #expect(try daemon.call("fields.list")["fields"]?.arrayValue?.contains { $0.string("key") == "nickname" } == false)
        // The timeline still has the value.
        let changes = try ContactKit.history(daemon, uuid, types: ["contact_field_changed"])
        #expect(changes.contains { $0["data"]?["value"]?.string("text") == "Dodo" })
        // Modifying the deleted field is -32001.
        let gone = try ContactKit.modifyError(daemon, uuid, [ContactKit.field("nickname", "x")])
        #expect(gone.code == -32001)
        // A new field with the same key starts empty.
        try daemon.call("fields.create", ["key": "nickname", "type": "text"])
        #expect(try ContactKit.get(daemon, uuid)["fields"]?["nickname"] == .null)
        // And after a restart.
        daemon.kill()
        try daemon.start()
        let restarted = try ContactKit.get(daemon, uuid)
        #expect(restarted["fields"]?["nickname"] == .null)
        #expect(restarted["fields"]?["age"]?.string("text") == "31")
    }

    /// A number field's value keeps every digit wherever the daemon shows its event: `events.read`, the
    /// contact's history, `audit.changes`, a subscription's catch-up, and a stored idempotent answer shown
    /// masked once the workspace became anonymous. Read back as doubles, 12345678901234567890.123456789
    /// came out as 1.2345678901234567e+19 there while `contacts.get` showed it whole (CLI audit).
    @Test func eventsAndStoredAnswersKeepEveryDigitOfANumber() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let number = "12345678901234567890.123456789"
        let written = "\"number\":\(number)"
        let create = #"{"jsonrpc":"2.0","id":1,"method":"contacts.create","params":{"name":"n","fields":{"age":"\#(number)"},"idempotency_key":"precise"}}"#
        let client = try daemon.client()
        func raw(_ line: String) throws -> String {
            try client.send(raw: Array(line.utf8) + [10])
            return String(decoding: try client.readLine(), as: UTF8.self)
        }
        let created = try raw(create)
        #expect(created.contains(written), "\(created)")
        let uuid = try #require(try JSONValue(parsing: Array(created.utf8))["result"]?.string("uuid"))
        for request in [
            #"{"jsonrpc":"2.0","id":2,"method":"events.read","params":{"types":["contact_field_changed"]}}"#,
            #"{"jsonrpc":"2.0","id":3,"method":"contacts.history","params":{"uuid":"\#(uuid)"}}"#,
            #"{"jsonrpc":"2.0","id":4,"method":"audit.changes","params":{"types":["contact_field_changed"]}}"#,
        ] {
            let answer = try raw(request)
            #expect(answer.contains(written), "\(request): \(answer)")
        }
        let subscriber = try daemon.client()
        try subscriber.send(raw: Array(#"{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"after_seq":0,"types":["contact_field_changed"]}}"#.utf8) + [10])
        var fed: [String] = []
        while !fed.contains(where: { $0.contains("events.event") }) {
            fed.append(String(decoding: try subscriber.readLine(), as: UTF8.self))
        }
        #expect(fed.contains { $0.contains("events.event") && $0.contains(written) }, "\(fed)")
        // The stored answer of the keyed create, masked as the workspace is now.
        try daemon.call("workspace.configure", ["anonymous": true])
        let retried = try raw(create)
        #expect(retried.contains(written), "\(retried)")
    }

    /// A field's deletion drops every value of it, whatever its text reads as: spaces only (a text that
    /// folds to nothing), a long text (indexed by its hash), text a number field cannot read, a number.
    /// The deletion finds the contacts through the index, so this holds only if the index lists every
    /// value: a value of spaces had no entry, and came back when a field of the same key was created.
    /// The same holds when the log is replayed (`projections.verify`, values and deletion in one chunk)
    /// and after a restart; another workspace's field of the same key keeps its values.
    @Test func deletingAFieldDropsEveryKindOfValue() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "note", "type": "text"])
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("fields.create", ["key": "keep", "type": "text"])
        try daemon.call("fields.create", ["key": "note", "type": "text", "workspace": "other"])
        let texts = ["   ", "Dodo", String(repeating: "long text ", count: 30), "\t", "31", "abc", " 7 "]
        var uuids: [String] = []
        for (number, text) in texts.enumerated() {
            let contact = try daemon.call("contacts.create", [
                "name": .string("C\(number)"), "fields": ["note": .string(text), "age": .string(text), "keep": "k"],
            ])
            #expect(contact["fields"]?["note"]?.string("text") == text)
            uuids.append(try #require(contact.string("uuid")))
        }
        let other = try #require(try daemon.call("contacts.create", ["workspace": "other", "name": "O", "fields": ["note": "   "]]).string("uuid"))
        // A text of spaces equals any other once trimmed, in the index as in the evaluator (the index had
        // no entry for it, so this found no one).
        #expect(try daemon.call("contacts.count", ["query": "note = \" \""]).int("total") == 2)
        try daemon.call("fields.delete", ["key": "note"])
        try daemon.call("fields.delete", ["key": "age"])
        try daemon.call("fields.create", ["key": "note", "type": "text"])
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        func check(_ moment: String) throws {
            for (uuid, text) in zip(uuids, texts) {
                let contact = try ContactKit.get(daemon, uuid)
                #expect(contact["fields"]?["note"] == .null, "\(moment): the value \(text.debugDescription) came back: \(contact)")
                #expect(contact["fields"]?["age"] == .null, "\(moment): the value \(text.debugDescription) came back: \(contact)")
                #expect(contact["fields"]?["keep"]?.string("text") == "k")
            }
            #expect(try ContactKit.get(daemon, other, workspace: "other")["fields"]?["note"]?.string("text") == "   ")
        }
        try check("after the deletion")
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        daemon.kill()
        try daemon.start()
        try check("after a restart")
    }

    @Test func fieldsListShowsEveryFieldWithFeaturedOnesByPriority() throws {
        let daemon = try DaemonHarness()
        for key in ["alpha", "bravo", "charlie", "delta", "echo"] {
            try daemon.call("fields.create", ["key": .string(key), "type": "text"])
        }
        let all = try daemon.call("fields.list")["fields"]?.arrayValue ?? []
        #expect(all.compactMap { $0.string("key") } == ["alpha", "bravo", "charlie", "delta", "echo"])
        #expect(all.allSatisfy { $0["featured"] == false && $0.int("priority") == 0 })
        let bravo = try daemon.call("fields.update", ["key": "bravo", "featured": true, "priority": 1])
        #expect(bravo["featured"] == true)
        #expect(bravo.int("priority") == 1)
        _ = try daemon.call("fields.update", ["key": "delta", "featured": true, "priority": 5])
        _ = try daemon.call("fields.update", ["key": "charlie", "featured": true, "priority": 5])
        let listed = try daemon.call("fields.list")["fields"]?.arrayValue ?? []
        let keys = listed.compactMap { $0.string("key") }
        // Featured first by priority descending, creation order breaking ties; then the rest.
        #expect(Array(keys.prefix(3)) == ["charlie", "delta", "bravo"])
        #expect(Set(keys) == ["alpha", "bravo", "charlie", "delta", "echo"])
        #expect(keys.count == 5)
        // Un-featuring moves it back among the rest, its priority given back (§3.3: un-featured is 0).
        let unfeatured = try daemon.call("fields.update", ["key": "charlie", "featured": false])
        #expect(unfeatured.int("priority") == 0)
        let again = try daemon.call("fields.list")["fields"]?.arrayValue?.compactMap { $0.string("key") } ?? []
        #expect(again == ["delta", "bravo", "alpha", "charlie", "echo"])
        // The others are ordered by priority too, then by creation.
        _ = try daemon.call("fields.update", ["key": "echo", "priority": 3])
        let ordered = try daemon.call("fields.list")["fields"]?.arrayValue?.compactMap { $0.string("key") } ?? []
        #expect(ordered == ["delta", "bravo", "echo", "alpha", "charlie"])
        // A no-op update appends nothing.
        let head = try ContactKit.head(daemon)
        let same = try daemon.call("fields.update", ["key": "delta", "featured": true, "priority": 5])
        #expect(same.int("seq") == head)
        let negative = try daemon.error("fields.update", ["key": "delta", "priority": -1])
        #expect(negative.code == -32602)
        #expect(negative.data("field") == "priority")
        #expect(try daemon.error("fields.update", ["key": "zulu", "featured": true]).code == -32001)
    }

    @Test func typeChangesKeepEveryReading() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "code", "type": "text"])
        let uuid = try #require(try daemon.call("contacts.create", ["fields": ["code": "42"]]).string("uuid"))
        // A text field's value still carries its number reading; switching the type re-parses nothing.
        let before = try ContactKit.get(daemon, uuid)["fields"]?["code"]
        #expect(ContactKit.double(before?["number"]) == 42)
        let updated = try daemon.call("fields.update", ["key": "code", "type": "number"])
        #expect(updated.string("type") == "number")
        #expect(try ContactKit.get(daemon, uuid)["fields"]?["code"] == before)
    }

    @Test func locationsResolveAgainstTheHierarchy() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.set_locations", ["hierarchy": ContactKit.rwanda])
        let stored = try daemon.call("workspace.locations")
        #expect(stored["hierarchy"]?.string("name") == "Rwanda")
        try daemon.call("fields.create", ["key": "state", "type": "state"])
        try daemon.call("fields.create", ["key": "district", "type": "district"])
        try daemon.call("fields.create", ["key": "ward", "type": "ward"])
        let uuid = try #require(try daemon.call("contacts.create", ["name": "L"]).string("uuid"))

        func state(_ text: String) throws -> JSONValue? {
            try ContactKit.modify(daemon, uuid, [ContactKit.field("state", text)])["fields"]?["state"]
        }
        #expect(try state("kigali")?.string("state") == "Rwanda > Kigali City")
        #expect(try state("Kigali City")?.string("state") == "Rwanda > Kigali City")
        #expect(try state("KIGALI CITY")?.string("state") == "Rwanda > Kigali City")
        #expect(try state("rwanda > eastern province")?.string("state") == "Rwanda > Eastern Province")
        #expect(try state("Rwanda>Kigali City")?.string("state") == "Rwanda > Kigali City")
        // Not a place of the hierarchy: kept as text, which counts as not set (§3.2), so the API shows null.
        let unknown = try state("x")
        #expect(unknown == .null)

        // Districts are searched inside the contact's state.
        _ = try state("Kigali")
        let district = try ContactKit.modify(daemon, uuid, [ContactKit.field("district", "gasabo")])["fields"]?["district"]
        #expect(district?.string("district") == "Rwanda > Kigali City > Gasabo")
        let outside = try ContactKit.modify(daemon, uuid, [ContactKit.field("district", "Rwamagana")])["fields"]?["district"]
        #expect(outside == .null)
        // Wards inside the district.
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.field("district", "Gasabo")])
        let ward = try ContactKit.modify(daemon, uuid, [ContactKit.field("ward", "kimironko")])["fields"]?["ward"]
        #expect(ward?.string("ward") == "Rwanda > Kigali City > Gasabo > Kimironko")
        let otherWard = try ContactKit.modify(daemon, uuid, [ContactKit.field("ward", "Nyamirambo")])["fields"]?["ward"]
        #expect(otherWard?["ward"] == nil)
        // In the other state, its district resolves.
        _ = try state("eastern province")
        let eastern = try ContactKit.modify(daemon, uuid, [ContactKit.field("district", "rwamagana")])["fields"]?["district"]
        #expect(eastern?.string("district") == "Rwanda > Eastern Province > Rwamagana")

        // All three in one create: the state is set first, then the district within it, then the ward
        // (a JSON object's members have no order to follow).
        for _ in 0..<5 {
            let created = try daemon.call("contacts.create", ["fields": ["ward": "Kimironko", "district": "Gasabo", "state": "Kigali"]])
            #expect(created["fields"]?["state"]?.string("state") == "Rwanda > Kigali City")
            #expect(created["fields"]?["district"]?.string("district") == "Rwanda > Kigali City > Gasabo")
            #expect(created["fields"]?["ward"]?.string("ward") == "Rwanda > Kigali City > Gasabo > Kimironko")
        }

        // An invalid hierarchy names where it is wrong.
        let bad = try daemon.error("workspace.set_locations", ["hierarchy": ["children": []]])
        #expect(bad.code == -32602)
        #expect(bad.data("field")?.stringValue?.hasPrefix("hierarchy") == true)
        // A rule broken deep in the tree names the place (it said `hierarchy` for all of them).
        let cases: [(JSONValue, String, String)] = [
            (["name": "R", "children": [["name": "A"], ["name": "a"]]], "hierarchy.children[1].name", "duplicate_name"),
            (["name": "R", "children": [["name": "A", "children": [["name": "B > C"]]]]], "hierarchy.children[0].children[0].name", "name_contains_separator"),
            (["name": "R", "children": [["name": "A", "aliases": ["ok", " "]]]], "hierarchy.children[0].aliases[1]", "empty_alias"),
            (
                ["name": "R", "children": [["name": "S", "children": [["name": "D", "children": [["name": "W", "children": [["name": "X"]]]]]]]]],
                "hierarchy.children[0].children[0].children[0].children[0]", "too_deep"
            ),
        ]
        let unknownMember: JSONValue = ["name": "R", "children": [["name": "A", "extra": 1]]]
        #expect(try daemon.error("workspace.set_locations", ["hierarchy": unknownMember]).data("field") == "hierarchy.children[0].extra")
        for (hierarchy, field, reason) in cases {
            let refused = try daemon.error("workspace.set_locations", ["hierarchy": hierarchy])
            #expect(refused.data("field") == .string(field))
            #expect(refused.data("reason") == .string(reason))
        }
    }
}
