// ContactLedger — daemon tests.
import Foundation
import LedgerStore
import Projections
import RPC
import Testing

/// Datetime readings end to end, in workspaces whose zone is far from UTC (found by the dates audit).
struct DateReadingTests {
    /// A full ISO timestamp naming its offset as `-0800`, `-08`, with a space or `t` before the time, is that
    /// instant through the API, a CSV, an XLSX text cell and an XLSX ISO date cell alike (they were wall-clock
    /// times in Kolkata, 13.5 h off, except in the date cell). An ISO date cell of year 1 is a date at 00:00,
    /// as one of 2023 is (it was text, read with the current time of day filled in).
    @Test func anOffsetIsThatInstantWhicheverWayTheValueCame() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["default_country": "RW", "timezone": "Asia/Kolkata"])
        try daemon.call("fields.create", ["key": "d", "name": "D", "type": "datetime"])
        let texts: [(text: String, reading: String)] = [
            ("2023-05-17T10:30:00-0800", "2023-05-18T00:00:00.000000+05:30"),
            ("2023-05-17T10:30:00-08", "2023-05-18T00:00:00.000000+05:30"),
            ("2023-05-17 10:30:00-08:00", "2023-05-18T00:00:00.000000+05:30"),
            ("2023-05-17 10:30:00Z", "2023-05-17T16:00:00.000000+05:30"),
            ("2020-01-01t10:45:30Z", "2020-01-01T16:15:30.000000+05:30"),
        ]
        for (index, entry) in texts.enumerated() {
            let created = try daemon.call("contacts.create", ["name": .string("api \(index)"), "fields": ["d": .string(entry.text)]])
            #expect(created["fields"]?["d"]?.string("datetime") == entry.reading, "api \(entry.text)")
        }
        let csv = "URN:Tel,Field:D\n" + texts.enumerated().map { "+25078803000\($0.offset),\($0.element.text)" }.joined(separator: "\n") + "\n"
        let fromCSV = try ImportExportTests.runImport(daemon, ImportExportTests.csvParams(csv))
        #expect(fromCSV.string("state") == "complete", "\(fromCSV)")
        for (index, entry) in texts.enumerated() {
            let contact = try daemon.call("contacts.get", ["urn": .string("tel:+25078803000\(index)")])
            #expect(contact["fields"]?["d"]?.string("datetime") == entry.reading, "csv \(entry.text)")
        }
        for (kind, cell) in [("text", "t=\"inlineStr\"><is><t>%@</t></is>"), ("date", "t=\"d\"><v>%@</v>")] {
            let phones = kind == "text" ? "+25078804000" : "+25078805000"
            let status = try ImportExportTests.importColumn(
                daemon, "Field:D", texts.map { cell.replacingOccurrences(of: "%@", with: $0.text) }, phones: phones)
            #expect(status.string("state") == "complete", "\(status)")
            for (index, entry) in texts.enumerated() {
                let contact = try daemon.call("contacts.get", ["urn": .string("tel:\(phones)\(index + 2)")])
                #expect(contact["fields"]?["d"]?.string("datetime") == entry.reading, "xlsx \(kind) \(entry.text)")
            }
        }
        let days = try ImportExportTests.importColumn(daemon, "Field:D", ["t=\"d\"><v>2023-05-17</v>", "t=\"d\"><v>0001-01-01</v>"], phones: "+25078806000")
        #expect(days.string("state") == "complete", "\(days)")
        let modern = try daemon.call("contacts.get", ["urn": "tel:+250788060002"])
        #expect(modern["fields"]?["d"]?.string("datetime") == "2023-05-17T00:00:00.000000+05:30")
        let first = try daemon.call("contacts.get", ["urn": "tel:+250788060003"])
        // Kolkata's offset in year 1 is its local mean time, +05:53 to the minute.
        #expect(first["fields"]?["d"]?.string("datetime")?.hasPrefix("0001-01-01T00:00:00.000000+") == true, "\(first)")
    }

    /// An XLSX date cell whose day in the workspace's zone leaves years 0001–9999 keeps a text that reads
    /// back, as the same text in a CSV does: in Kolkata `t="d"` `9999-12-31T23:59:59Z` was stored as
    /// `10000-01-01T05:29:59+05:30` and `0001-01-01T00:00:00+14:00` as `0000-12-31T15:53:00+05:53`, texts nothing
    /// reads; a wall-clock cell whose fraction rounds to the next second (a `Date` holds about 30 µs there)
    /// and a date-styled serial that rounds to 10000-01-01 were `10000-01-01T00:00:00+05:30` (audit 52, F1).
    @Test func aDateCellWhoseDayLeavesTheYearsInTheZoneKeepsAReadableText() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["default_country": "RW", "timezone": "Asia/Kolkata"])
        try daemon.call("fields.create", ["key": "d", "name": "D", "type": "datetime"])
        let cells: [(cell: String, text: String, reading: String?)] = [
            ("t=\"d\"><v>9999-12-31T23:59:59Z</v>", "9999-12-31T23:59:59Z", nil),
            ("t=\"d\"><v>0001-01-01T00:00:00+14:00</v>", "0001-01-01T00:00:00+14:00", nil),
            // Near the end but inside the years in Kolkata: read as the CSV reads the text.
            ("t=\"d\"><v>9999-12-30T12:00:00Z</v>", "9999-12-30T12:00:00Z", "9999-12-30T17:30:00.000000+05:30"),
            ("t=\"d\"><v>9999-12-31T23:59:59.999999</v>", "9999-12-31T23:59:59.999999", nil),
            // Date-styled serials (style 2 shows a date and time): the last one rounds past 9999-12-31 and
            // stays a number, as a serial past Excel's dates does.
            ("s=\"2\"><v>2958465.5</v>", "9999-12-31T12:00:00+05:30", "9999-12-31T12:00:00.000000+05:30"),
            ("s=\"2\"><v>2958465.999999999</v>", "2958465.999999999", nil),
        ]
        let status = try ImportExportTests.importColumn(daemon, "Field:D", cells.map(\.cell), phones: "+25078807000")
        #expect(status.string("state") == "complete", "\(status)")
        #expect(ImportExportTests.errors(status).isEmpty, "\(status)")
        // The stored text is in the events: an answer shows a value without a reading as null.
        let changes = try daemon.call("events.read", ["types": ["contact_field_changed"], "limit": 1000])["items"]?.arrayValue ?? []
        for (index, entry) in cells.enumerated() {
            let contact = try daemon.call("contacts.get", ["urn": .string("tel:+25078807000\(index + 2)")])
            let stream = "contact/" + (contact.string("uuid") ?? "")
            let stored = changes.last { $0.string("stream") == stream }?["data"]?["value"]
            #expect(stored?.string("text") == entry.text, "\(entry.cell): \(String(describing: stored))")
            let shown = contact["fields"]?["d"]?.string("datetime")
            if let reading = entry.reading {
                #expect(shown == reading, "\(entry.cell): \(contact)")
            } else if let shown {
                #expect(shown.hasPrefix("9999-12-31T"), "\(entry.cell): \(contact)")
            }
        }
    }

    /// `9999-12-31T23:59:59Z` in Kolkata is 10000-01-01 there: it has no datetime reading (it answered
    /// `10000-01-01T05:29:59.000000+05:30`, which the export wrote as `10000-01-01 05:29` and a re-import read
    /// as 2001-01-05). A log whose event holds such a reading, as the code before wrote it, replays: the
    /// value keeps its text and has no datetime (the event was `undecodable`, and a daemon rebuilding its
    /// read models at start refused to start).
    @Test func aReadingWithAFiveDigitYearIsNoneAndALogHoldingOneReplays() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["timezone": "Asia/Kolkata"])
        try daemon.call("fields.create", ["key": "d", "name": "D", "type": "datetime"])
        let late = try daemon.call("contacts.create", ["name": "Late", "fields": ["d": "9999-12-31T23:59:59Z"]])
        #expect(late["fields"]?["d"]?.string("datetime") == nil, "\(late)")
        let last = try daemon.call("contacts.create", ["name": "Last", "fields": ["d": "9999-12-31T18:29:59Z"]])
        #expect(last["fields"]?["d"]?.string("datetime") == "9999-12-31T23:59:59.000000+05:30")

        let old = try #require(try daemon.call("contacts.create", ["name": "Old"]).string("uuid"))
        #expect(daemon.stop() == 0)
        try ProjectionTests.appendToStoppedLog(
            daemon, contact: old, type: "contact_field_changed", createdOn: "2026-11-25T00:00:00.000000Z", actor: "tester",
            payload: #"{"field":{"key":"d","name":"D"},"value":{"datetime":"10000-01-01T04:30:00.000000+05:30","text":"9999-12-31T23:00:00Z"}}"#)
        try FileManager.default.removeItem(atPath: daemon.directory + "/readmodels")
        try daemon.start()
        let contact = try daemon.call("contacts.get", ["uuid": .string(old)])
        #expect(contact["fields"]?["d"]?.string("datetime") == nil, "\(contact)")
        let history = try daemon.call("events.read", ["types": ["contact_field_changed"]])
        #expect("\(history)".contains("9999-12-31T23:00:00Z"), "\(history)")
        #expect(try daemon.call("contacts.search", ["query": "d != \"\""])["contacts"]?.arrayValue?.count == 1)
        #expect(try daemon.call("projections.rebuild", ["name": "contacts"])["started"] == true)
        let deadline = Date().addingTimeInterval(60)
        var state: JSONValue?
        repeat {
            usleep(50_000)
            state = try daemon.call("projections.status")["projections"]?.arrayValue?.first
        } while state?.string("state") == "rebuilding" && Date() < deadline
        #expect(state?["last_error"] == nil || state?["last_error"] == .null, "\(String(describing: state))")
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        #expect(try daemon.call("contacts.get", ["uuid": .string(old)])["fields"]?["d"]?.string("datetime") == nil)
    }

    /// A datetime read in UTC as `9999-12-31T23:00:00Z`, whose day is 10000-01-01 once the workspace moves to
    /// Kolkata, shows no datetime there, and queries, smart groups and sorting take it as not set too (they
    /// compared its instant: `d != ""` and `d > 9999-12-30` found it, the group kept it; recheck finding).
    @Test func aDatetimeWhoseDayLeavesTheYearsAfterAZoneChangeIsNotSet() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["timezone": "UTC"])
        try daemon.call("fields.create", ["key": "d", "name": "D", "type": "datetime"])
        let edge = try #require(try daemon.call("contacts.create", ["name": "Edge", "fields": ["d": "9999-12-31T23:00:00Z"]]).string("uuid"))
        let middle = try #require(try daemon.call("contacts.create", ["name": "Middle", "fields": ["d": "2020-01-01T00:00:00Z"]]).string("uuid"))
        let group = try #require(try daemon.call("groups.create", ["name": "Dated", "query": "d != \"\""]).string("uuid"))
        #expect(try QueryAndGroupTests.waitUntilReady(daemon, group)["count"]?.integerValue == 2)
        func found(_ query: String, sort: String? = nil, limit: Int64 = 50) throws -> [String] {
            var params: [String: JSONValue] = ["query": .string(query), "limit": .integer(limit)]
            if let sort { params["sort"] = .string(sort) }
            var uuids: [String] = []
            repeat {
                let page = try daemon.call("contacts.search", .object(params))
                uuids += page["contacts"]?.arrayValue?.compactMap { $0.string("uuid") } ?? []
                params["cursor"] = page["next_cursor"] ?? .null
            } while params["cursor"] != .null
            return uuids
        }
        #expect(try found("d > 9999-12-30") == [edge])

        try daemon.call("workspace.configure", ["timezone": "Asia/Kolkata"])
        #expect(try daemon.call("contacts.get", ["uuid": .string(edge)])["fields"]?["d"] == .null)
        #expect(try found("d != \"\"") == [middle])
        #expect(try found("d = \"\"") == [edge])
        #expect(try found("d > 9999-12-30") == [])
        #expect(try found("d < 2030-01-01") == [middle])
        // Contacts without a value come last in both directions, page by page as whole.
        #expect(try found("", sort: "-fields.d", limit: 1) == [middle, edge])
        #expect(try found("", sort: "fields.d", limit: 1) == [middle, edge])
        let deadline = Date().addingTimeInterval(60)
        var count: Int64?
        repeat {
            usleep(20_000)
            count = try daemon.call("groups.list")["groups"]?.arrayValue?.first { $0.string("uuid") == group }?["count"]?.integerValue
        } while count != 1 && Date() < deadline
        #expect(count == 1)
        let members = try daemon.call("groups.members", ["uuid": .string(group)])
        #expect(members["items"]?.arrayValue?.compactMap { $0.string("uuid") } == [middle], "\(members)")
    }

    /// `workspace.configure` takes IANA zone names only: `GMT+5`, `UTC+3`, `GMT+05:30` (which Foundation
    /// takes, `GMT+5` five hours east where IANA's `Etc/GMT+5` is five hours west) get the error an unknown
    /// zone gets. A workspace stored with such a name before still loads, works and may be sent it again.
    @Test func onlyIANAZoneNamesAreSet() throws {
        let daemon = try DaemonHarness()
        let unknown = try daemon.error("workspace.configure", ["timezone": "Mars/Olympus_Mons"])
        for name in ["GMT+5", "UTC+3", "GMT+05:30", "IST"] {
            let refused = try daemon.error("workspace.configure", ["timezone": .string(name)])
            #expect(refused == unknown, "\(name): \(refused)")
        }
        for name in ["Etc/GMT+5", "UTC", "Etc/UTC", "US/Eastern", "Asia/Kolkata"] {
            #expect(try daemon.call("workspace.configure", ["timezone": .string(name)]).string("timezone") == name)
        }
        // A workspace an older version let set `GMT+5`.
        #expect(daemon.stop() == 0)
        try Self.appendWorkspaceEvent(daemon, #"{"timezone":"GMT+5"}"#)
        try daemon.start()
        #expect(try daemon.call("workspace.get").string("timezone") == "GMT+5")
        #expect(try daemon.call("workspace.configure", ["timezone": "GMT+5", "date_format": "DD-MM-YYYY"]).string("timezone") == "GMT+5")
        try daemon.call("fields.create", ["key": "d", "name": "D", "type": "datetime"])
        let contact = try daemon.call("contacts.create", ["name": "A", "fields": ["d": "2026-01-01T00:00:00Z"]])
        #expect(contact["fields"]?["d"]?.string("datetime") == "2026-01-01T05:00:00.000000+05:00")
    }

    /// Appends a `workspace_configured` event to a stopped daemon's log, as another version wrote it.
    static func appendWorkspaceEvent(_ daemon: DaemonHarness, _ payload: String) throws {
        let environment = try Environment(directory: daemon.directory, rebuildableSubdirectory: "readmodels")
        let log = try EventLog.open(in: environment, indexing: .ledgerHeaders)
        _ = try environment.write { txn in
            try log.append(to: "workspace/main", expectedVersion: nil, in: txn) { position in
                let header: JSONValue = [
                    "seq": .integer(Int64(position.seq)), "id": .string(UUID().uuidString.lowercased()),
                    "stream": "workspace/main", "version": .integer(Int64(position.version)),
                    "type": "workspace_configured", "schema_version": 1, "workspace": "main",
                    "created_on": "2026-11-25T00:00:00.000000Z", "actor": .null, "peer": .null,
                ]
                return EncodedRecord(header: JSONLine.encode(header), payload: Array(payload.utf8))
            }
        }
    }
}
