// ContactLedger — contact domain tests.
import ContactDomain
import Foundation
import Testing

/// The evaluator against a fixed set of contacts, in a workspace in America/New_York.
struct QueryEvaluatorTests {
    static let customers = GroupUUID("11111111-1111-4111-8111-111111111111") ?? GroupUUID.random()
    static let staff = GroupUUID("22222222-2222-4222-8222-222222222222") ?? GroupUUID.random()

    static let workspace: Workspace = {
        var workspace = Workspace(name: "main")
        workspace.timezone = "America/New_York"
        workspace.dateFormat = .dayMonthYear
        let definitions: [(String, FieldType)] = [("age", .number), ("gender", .text), ("dob", .datetime), ("home", .state), ("nick", .text)]
        for (key, type) in definitions {
            if let fieldKey = try? FieldKey(key) { workspace.fields.append(FieldDefinition(key: fieldKey, name: key.capitalized, type: type)) }
        }
        workspace.groups = [
            Group(uuid: Self.customers, name: "Customers", query: nil, createdSeq: 1),
            Group(uuid: Self.staff, name: "Staff", query: nil, createdSeq: 2),
        ]
        return workspace
    }()

    static func contact(
        _ id: Int64, _ name: String?, status: ContactStatus = .active, language: String? = nil, urns: [String] = [],
        fields: [String: FieldValue] = [:], groups: [GroupUUID] = [], lastSeen: String? = nil
    ) -> Contact {
        let uuid = ContactUUID(String(format: "00000000-0000-4000-8000-%012d", id)) ?? ContactUUID.random()
        var contact = Contact(
            created: ContactCreated(uuid: uuid, id: id, name: name, language: language, status: status, urns: urns),
            workspace: "main", at: Timestamp(rfc3339: "2026-03-01T12:00:00Z") ?? .now, version: 1
        )
        contact.fields = fields
        contact.groups = groups
        contact.lastSeenOn = lastSeen.flatMap { Timestamp(rfc3339: $0) }
        return contact
    }

    static func date(_ text: String) -> Date { Timestamp(rfc3339: text)?.date ?? Date() }

    static let contacts: [Contact] = [
        contact(1, "Bob Smithwick", language: "eng", urns: ["tel:+12065551212", "twitter:bobby"],
                fields: ["age": FieldValue(text: "36", number: 36), "gender": FieldValue(text: "M"),
                         "dob": FieldValue(text: "1990-06-23", datetime: date("1990-06-23T10:00:00-04:00"))],
                groups: [customers], lastSeen: "2026-01-05T10:00:00Z"),
        contact(2, "Ann Jones", language: "fra", urns: ["tel:+250788383383", "mailto:ann@example.org"],
                fields: ["age": FieldValue(text: "17", number: 17), "gender": FieldValue(text: "F"),
                         "home": FieldValue(text: "kigali", state: "Rwanda > Kigali City")],
                groups: [customers, staff]),
        contact(3, "Cara O'Shea", status: .blocked, urns: ["whatsapp:250722000003"],
                fields: ["age": FieldValue(text: "nan"), "gender": FieldValue(text: " f ")]),
        contact(4, nil, urns: ["telegram:12345"], fields: ["age": FieldValue(text: "65.5", number: Decimal(string: "65.5"))],
                lastSeen: "2026-02-10T03:00:00Z"),
        contact(5, "Dan Brown", status: .stopped, language: "kin", fields: ["nick": FieldValue(text: "Danny")], groups: [staff]),
    ]

    static func matching(_ query: String) throws -> [Int64] {
        let parsed = try ContactQuery.parse(query, resolver: WorkspaceQueryResolver(workspace: Self.workspace))
        let evaluator = QueryEvaluator(workspace: Self.workspace)
        return Self.contacts.filter { evaluator.matches($0, parsed) }.map(\.id)
    }

    @Test(arguments: [
        // Names: word prefixes (first 8 characters), equality ignoring case.
        ("name ~ smi", [1]), ("name ~ Smithwicke", [1]), ("name ~ bobby", []), ("name = \"bob smithwick\"", [1]),
        ("name = \"\"", [4]), ("name != \"\"", [1, 2, 3, 5]), ("bob", [1]), ("o'shea", [3]), ("ann jones", [2]),
        ("name != \"Ann Jones\"", [1, 3, 4, 5]),
        // Numbers.
        ("age = 36", [1]), ("age > 36", [4]), ("age >= 36", [1, 4]), ("age < 18", [2]), ("age <= 17", [2]),
        ("age != 36", [2, 3, 4, 5]), ("age = \"\"", [3, 5]), ("age != \"\"", [1, 2, 4]), ("age > 65", [4]),
        ("age = 65.5", [4]), ("age < 65.5", [1, 2]), ("age > -1", [1, 2, 4]),
        // Text fields: trimmed and case-insensitive.
        ("gender = f", [2, 3]), ("gender = M", [1]), ("gender != f", [1, 4, 5]), ("nick = danny", [5]),
        ("gender = \"\"", [4, 5]),
        // Locations by name.
        ("home = kigali", []), ("home = \"Kigali City\"", [2]), ("home != \"\"", [2]),
        // Dates by day in New York.
        ("dob = 23-06-1990", [1]), ("dob > 23-06-1990", []), ("dob >= 23-06-1990", [1]), ("dob < 24-06-1990", [1]),
        ("dob <= 22-06-1990", []), ("dob = \"\"", [2, 3, 4, 5]),
        ("last_seen_on > 01-01-2026", [1, 4]), ("last_seen_on = \"\"", [2, 3, 5]), ("last_seen_on < 01-02-2026", [1]),
        ("created_on = 01-03-2026", [1, 2, 3, 4, 5]), ("created_on > 01-03-2026", []),
        // URNs.
        ("tel = +12065551212", [1]), ("tel ~ 555", [1]), ("tel ~ 0788", [2]), ("urn ~ example", [2]),
        ("twitter = bobby", [1]), ("mailto = ann@example.org", [2]), ("whatsapp ~ 2507", [3]), ("telegram = 12345", [4]),
        ("tel = \"\"", [3, 4, 5]), ("tel != \"\"", [1, 2]), ("urn = \"\"", [5]), ("tel != +12065551212", [2, 3, 4, 5]),
        ("+12065551212", [1]), ("telegram:12345", [4]),
        // Status, language, ids, groups.
        ("status = blocked", [3]), ("status = ACTIVE", [1, 2, 4]), ("status != active", [3, 5]), ("language = eng", [1]),
        ("language = \"\"", [3, 4]), ("language != fra", [1, 3, 4, 5]), ("id = 4", [4]), ("id = 9", []),
        ("uuid = 00000000-0000-4000-8000-000000000002", [2]), ("group = customers", [1, 2]), ("group = staff", [2, 5]),
        ("group != customers", [3, 4, 5]), ("group = \"\"", [3, 4]), ("tickets = 0", [1, 2, 3, 4, 5]),
        // Combinations and precedence.
        ("age > 18 AND gender = m", [1]), ("age > 18 OR gender = f", [1, 2, 3, 4]), ("gender = f age < 18", [2]),
        ("(age > 60 OR age < 18) AND group = customers", [2]), ("age > 60 OR age < 18 AND group = staff", [2, 4]),
        ("name ~ bob OR name ~ ann OR name ~ dan", [1, 2, 5]), ("status = active AND tel != \"\" AND age < 40", [1, 2]),
    ])
    func evaluates(query: String, expected: [Int64]) throws {
        #expect(try Self.matching(query) == expected)
    }
}

/// A day's interval is [its first instant, the next day's first instant) in the workspace timezone, also
/// where clocks jump at midnight: such a day began at 01:00, and a day added to that ended at 01:00 the
/// next day, so a contact at 00:30 that day matched both days (found by the dates audit).
struct DayIntervalTests {
    @Test(arguments: [
        ("America/Santiago", 2020, 9, 6, "2020-09-06T01:00:00-03:00", "2020-09-07T00:00:00-03:00"),
        ("America/Santiago", 2020, 9, 5, "2020-09-05T00:00:00-04:00", "2020-09-06T01:00:00-03:00"),
        ("Asia/Beirut", 2020, 3, 29, "2020-03-29T01:00:00+03:00", "2020-03-30T00:00:00+03:00"),
        ("America/Havana", 2020, 3, 8, "2020-03-08T01:00:00-04:00", "2020-03-09T00:00:00-04:00"),
        ("America/New_York", 2020, 11, 1, "2020-11-01T00:00:00-04:00", "2020-11-02T00:00:00-05:00"),
        ("Pacific/Chatham", 2020, 12, 31, "2020-12-31T00:00:00+13:45", "2021-01-01T00:00:00+13:45"),
    ])
    func aDayEndsWhereTheNextBegins(zone: String, year: Int, month: Int, day: Int, start: String, end: String) throws {
        try Self.expectInterval(zone: zone, year: year, month: month, day: day, start: start, end: end)
    }

    /// Expects the day `year-month-day` in `zone` to run from `start` to `end` (RFC 3339).
    static func expectInterval(
        zone: String, year: Int, month: Int, day: Int, start: String, end: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var workspace = Workspace(name: "main")
        workspace.timezone = zone
        let date = try #require(QueryDate(year: year, month: month, day: day), sourceLocation: sourceLocation)
        let interval = try #require(QueryEvaluator(workspace: workspace).interval(of: date), sourceLocation: sourceLocation)
        #expect(interval.0 == Timestamp(rfc3339: start)?.date, sourceLocation: sourceLocation)
        #expect(interval.1 == Timestamp(rfc3339: end)?.date, sourceLocation: sourceLocation)
    }
}

/// A query's two-digit year pivots on the year in the workspace's timezone, as a field value's does: at
/// 23:00 UTC on 31 December, Chatham's New Year has begun, and `dob = 01-02-27` meant 1927 to the query
/// (the UTC year, 2026) while the value written the same way was 2027 (found by the dates audit).
struct TwoDigitYearTests {
    @Test(arguments: [("Pacific/Chatham", true), ("UTC", false)])
    func aQueryPivotsOnTheWorkspacesYear(zone: String, matches: Bool) throws {
        var workspace = QueryEvaluatorTests.workspace
        workspace.timezone = zone
        let lastHourOf2026 = try #require(Timestamp(rfc3339: "2026-12-31T23:00:00Z")?.date)
        let query = try ContactQuery.parse("dob = 01-02-27", resolver: WorkspaceQueryResolver(workspace: workspace, now: lastHourOf2026))
        let born = QueryEvaluatorTests.contact(
            9, "Born", fields: ["dob": FieldValue(text: "01-02-27", datetime: try #require(Timestamp(rfc3339: "2027-02-01T00:00:00Z")?.date))]
        )
        #expect(QueryEvaluator(workspace: workspace).matches(born, query) == matches)
    }
}

/// Days before 1582-10-15 are proleptic Gregorian in queries, as stored values are: Foundation's calendar
/// switched to the Julian one there, so `d = 1500-03-01` found nothing and `d = 0001-01-03` found
/// 0001-01-01 (found by the dates audit). Days where clocks jump keep the intervals they had.
struct ProlepticDayTests {
    @Test(arguments: [
        ("UTC", 1, 1, 1, "0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z"),
        ("UTC", 1500, 3, 1, "1500-03-01T00:00:00Z", "1500-03-02T00:00:00Z"),
        ("UTC", 1582, 10, 4, "1582-10-04T00:00:00Z", "1582-10-05T00:00:00Z"),
        ("Pacific/Apia", 2011, 12, 29, "2011-12-29T00:00:00-10:00", "2011-12-31T00:00:00+14:00"),
        ("Pacific/Apia", 2011, 12, 30, "2011-12-31T00:00:00+14:00", "2011-12-31T00:00:00+14:00"),
        ("Pacific/Apia", 2011, 12, 31, "2011-12-31T00:00:00+14:00", "2012-01-01T00:00:00+14:00"),
        ("America/Santiago", 2020, 4, 5, "2020-04-05T00:00:00-04:00", "2020-04-06T00:00:00-04:00"),
    ])
    func aDayIsTheCivilDay(zone: String, year: Int, month: Int, day: Int, start: String, end: String) throws {
        try DayIntervalTests.expectInterval(zone: zone, year: year, month: month, day: day, start: start, end: end)
    }

    @Test func oldValuesMatchTheirDay() throws {
        var workspace = QueryEvaluatorTests.workspace
        workspace.timezone = "UTC"
        let evaluator = QueryEvaluator(workspace: workspace)
        let resolver = WorkspaceQueryResolver(workspace: workspace)
        let contacts = try ["0001-01-01T12:00:00Z", "1500-03-01T12:00:00Z"].enumerated().map { index, text in
            QueryEvaluatorTests.contact(Int64(index + 1), text, fields: ["dob": FieldValue(text: text, datetime: try #require(Timestamp(rfc3339: text)?.date))])
        }
        func matching(_ query: String) throws -> [Int64] {
            let parsed = try ContactQuery.parse(query, resolver: resolver)
            return contacts.filter { evaluator.matches($0, parsed) }.map(\.id)
        }
        #expect(try matching("dob = 01-03-1500") == [2])
        #expect(try matching("dob = 01-01-0001") == [1])
        #expect(try matching("dob = 03-01-0001") == [])
        #expect(try matching("dob > 01-03-1500") == [])
        #expect(try matching("dob < 02-03-1500") == [1, 2])
    }
}

/// A query value that is a full timestamp with an offset names the day of that instant in the workspace
/// zone (§5.5: the same parser as field values, which read it as that instant); it named the day written,
/// so in Kiritimati (+14:00) `d = "2026-12-07T23:00:00Z"` missed a value at 2026-12-08T12:00:00+14:00
/// (found by the dates audit).
struct QueryTimestampDayTests {
    @Test(arguments: [
        ("dob = \"2026-12-07T23:00:00Z\"", true),
        ("dob = \"2026-12-08T13:00:00+14:00\"", true),
        ("dob = \"2026-12-07 23:00:00z\"", true),
        ("dob = \"2026-12-07T08:00:00-0200\"", true),
        ("dob = \"2026-12-07T09:59:59Z\"", false),
        ("dob = 2026-12-08", true),
        ("dob = 2026-12-07", false),
        ("dob = \"2026-12-07T23:00:00\"", false),
    ])
    func aTimestampNamesItsDayInTheWorkspaceZone(query: String, matches: Bool) throws {
        var workspace = QueryEvaluatorTests.workspace
        workspace.timezone = "Pacific/Kiritimati"
        workspace.dateFormat = .yearMonthDay
        let value = try #require(Timestamp(rfc3339: "2026-12-08T12:00:00+14:00")?.date)
        let contact = QueryEvaluatorTests.contact(9, "K", fields: ["dob": FieldValue(text: "2026-12-08T12:00:00+14:00", datetime: value)])
        let parsed = try ContactQuery.parse(query, resolver: WorkspaceQueryResolver(workspace: workspace))
        #expect(QueryEvaluator(workspace: workspace).matches(contact, parsed) == matches)
    }
}
