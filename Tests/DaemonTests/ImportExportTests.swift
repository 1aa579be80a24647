// ContactLedger — daemon tests.
import Foundation
import RPC
import Synchronization
import TestSupport
import Testing

/// Spreadsheet import and export through the real daemon, with files made and read back by openpyxl.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ImportExportTests {
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs a Python script (openpyxl installed first if missing) and returns its standard output.
    @discardableResult
    static func python(_ script: String, _ arguments: [String] = []) throws -> String {
        func run(_ args: [String]) throws -> (Int32, String) {
            let process = ChildProcess()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = args
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        if try run(["python3", "-c", "import openpyxl"]).0 != 0 {
            _ = try run(["python3", "-m", "pip", "install", "--quiet", "openpyxl"])
            if try run(["python3", "-c", "import openpyxl"]).0 != 0 {
                _ = try run(["python3", "-m", "pip", "install", "--quiet", "--break-system-packages", "openpyxl"])
            }
        }
        let (status, output) = try run(["python3", "-c", script] + arguments)
        guard status == 0 else { throw PythonFailed(output: output) }
        return output
    }

    struct PythonFailed: Error, CustomStringConvertible {
        var output: String
        var description: String { "python failed: \(self.output)" }
    }

    /// Writes rows (JSON) to an .xlsx with openpyxl; strings of the form `@date:ISO` become datetime cells.
    static func writeXLSX(_ rows: JSONValue, to path: String) throws {
        let json = String(decoding: JSONLine.encode(rows), as: UTF8.self)
        try Self.python("""
            import json, sys, datetime, openpyxl
            wb = openpyxl.Workbook()
            ws = wb.active
            ws.title = "People"
            for row in json.loads(sys.argv[1]):
                ws.append([datetime.datetime.fromisoformat(c[6:]) if isinstance(c, str) and c.startswith("@date:") else c for c in row])
            other = wb.create_sheet("Ignored")
            other.append(["URN:Tel", "Name"])
            other.append(["+250788999999", "Not imported"])
            wb.save(sys.argv[2])
            """, [json, path])
    }

    /// Reads the first sheet with openpyxl: rows of cells as JSON (datetimes as ISO text).
    static func readXLSX(_ path: String) throws -> JSONValue {
        let output = try Self.python("""
            import json, sys, datetime, openpyxl
            wb = openpyxl.load_workbook(sys.argv[1])
            ws = wb.worksheets[0]
            rows = [[c.isoformat() if isinstance(c, datetime.datetime) else c for c in row] for row in ws.iter_rows(values_only=True)]
            print(json.dumps({"title": ws.title, "rows": rows}))
            """, [path])
        return try JSONDecoder().decode(JSONValue.self, from: Data(output.utf8))
    }

    /// Polls a job's status until it is complete or failed.
    static func wait(_ daemon: DaemonHarness, _ method: String, _ params: JSONValue) throws -> JSONValue {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let status = try daemon.call(method, params)
            if status.string("state") == "complete" || status.string("state") == "failed" { return status }
            usleep(50_000)
        }
        Issue.record("\(method) did not finish")
        return .null
    }

    static func runImport(_ daemon: DaemonHarness, _ params: JSONValue) throws -> JSONValue {
        let started = try daemon.call("imports.start", params)
        let id = try #require(started.string("import"))
        return try Self.wait(daemon, "imports.status", ["import": .string(id)])
    }

    /// Imports an XLSX sheet of one column `header` beside `URN:Tel`: row `n` (from 2) is the phone `phones`
    /// followed by `n`, and the cell whose attributes after `r` and content are `cells[n - 2]`
    /// (`t="d"><v>2023-05-17</v>`). Returns the import's final status.
    static func importColumn(_ daemon: DaemonHarness, _ header: String, _ cells: [String], phones: String) throws -> JSONValue {
        let inline = HostileXLSX.inlineCell
        var rows = "<row r=\"1\">\(inline("A1", "URN:Tel"))\(inline("B1", header))</row>"
        for (index, cell) in cells.enumerated() {
            let row = index + 2
            rows += "<row r=\"\(row)\">\(inline("A\(row)", "\(phones)\(row)"))<c r=\"B\(row)\" \(cell)</c></row>"
        }
        return try Self.runImport(daemon, ["content_base64": .string(HostileXLSX.withSheetRows(rows).base64EncodedString())])
    }

    /// `imports.start` params carrying `csv` inline.
    static func csvParams(_ csv: String) -> JSONValue {
        ["content_base64": .string(Data(csv.utf8).base64EncodedString()), "format": "csv"]
    }

    static func head(_ daemon: DaemonHarness) throws -> Int64 { try daemon.call("system.health").int("head_seq") ?? -1 }

    static func errors(_ status: JSONValue) -> [String] {
        (status["errors"]?.arrayValue ?? []).map { "\($0.int("row") ?? 0)|\($0.string("column") ?? "-")|\($0.string("message") ?? "")" }
    }

    func setUp() throws -> (DaemonHarness, String) {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["default_country": "RW", "timezone": "Africa/Kigali"])
        try daemon.call("fields.create", ["key": "age", "name": "Age", "type": "number"])
        let existing = try daemon.call("contacts.create", ["name": "Old Name", "urns": ["tel:+250788000001"]])
        return (daemon, try #require(existing.string("uuid")))
    }

    static let sheet: JSONValue = [
        ["URN:Tel", "Name", "Language", "Field: Age", "Field: Joined On", "Status", "Group:VIP", "Created On"],
        ["0788 000 001", "Ann", "ENG", 23, "@date:2020-09-18T15:45:30", nil, "TRUE", "whatever"],
        [250788000002, "Bob", "xyz", "abc", "2021-01-02", "asleep", nil, nil],
        ["+250788000003", "Cara", "fra", 30, nil, "blocked", nil, nil],
        ["12", "Nobody", nil, nil, nil, nil, nil, nil],
        [nil, "No URN, skipped", nil, nil, nil, nil, nil, nil],
        ["+250788000007", "Dee", nil, "--", nil, "sleeping", nil, nil],
    ]

    @Test func importsAnXLSXThenReimportsCreatingNothing() throws {
        let (daemon, existing) = try self.setUp()
        let path = daemon.directory + "-people.xlsx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.writeXLSX(Self.sheet, to: path)

        let status = try Self.runImport(daemon, ["path": .string(path), "actor": "importer@example.com"])
        #expect(status.string("state") == "complete")
        #expect(status.int("rows_total") == 5)
        #expect(status.int("rows_done") == 5)
        #expect(status.int("created") == 3)
        #expect(status.int("updated") == 1)
        let errors = Self.errors(status)
        #expect(errors.contains("3|Language|'xyz' is not a valid language code"))
        #expect(errors.contains("5|URN:Tel|Unable to find or create contact with URNs tel:12"))
        #expect(errors.contains("7|Status|'sleeping' is not a valid status"))
        #expect(errors.contains("3|Status|'asleep' is not a valid status"))
        #expect(errors.count == 4, "\(errors)")
        #expect(!daemon.log().contains("xyz"), "cell values never reach the log")

        // The new field exists; the matched contact was updated; values parsed by type in Kigali time.
        let fields = try daemon.call("fields.list")["fields"]?.arrayValue ?? []
        #expect(fields.contains { $0.string("key") == "joined_on" && $0.string("name") == "Joined On" && $0.string("type") == "text" })
        let ann = try daemon.call("contacts.get", ["uuid": .string(existing)])
        #expect(ann.string("name") == "Ann")
        #expect(ann.string("language") == "eng")
        #expect(ann["fields"]?["age"]?["number"]?.integerValue == 23)
        #expect(ann["fields"]?["joined_on"]?.string("text") == "2020-09-18T15:45:30+02:00")
        let bob = try daemon.call("contacts.get", ["urn": "tel:+250788000002"])
        #expect(bob.string("name") == "Bob")
        #expect(bob.string("language") == nil)
        // Not a number: kept in the ledger, not set for a number field, so the API shows null (§3.2).
        #expect(bob["fields"]?["age"] == .null)
        let cara = try daemon.call("contacts.get", ["urn": "tel:+250788000003"])
        #expect(cara.string("status") == "blocked")
        let dee = try daemon.call("contacts.get", ["urn": "tel:+250788000007"])
        #expect(dee.string("status") == "active")

        // Every event of the import carries its id and the actor.
        let events = try daemon.call("events.read", ["limit": 1000])["items"]?.arrayValue ?? []
        let importEvents = events.filter { $0.string("idempotency_key")?.hasPrefix("import:\(status.string("import") ?? "")") == true }
        #expect(importEvents.count >= 6)
        #expect(importEvents.allSatisfy { $0.string("actor") == "importer@example.com" })

        // The same file again: nothing new, nothing changed.
        let headBefore = try Self.head(daemon)
        let total = try daemon.call("contacts.count", ["query": ""]).int("total")
        let again = try Self.runImport(daemon, ["path": .string(path)])
        #expect(again.string("state") == "complete")
        #expect(again.int("created") == 0)
        #expect(again.int("updated") == 4)
        // A record's errors come in one order whether it creates a contact or updates one (§6.3).
        #expect(Self.errors(again) == errors)
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == total)
        #expect(try Self.head(daemon) == headBefore)

        // The status survives a restart, as it was answered before (its finish time and rate included:
        // they moved by the time between the last batch's commit and the job's end).
        let before = try daemon.call("imports.status", ["import": .string(status.string("import") ?? "")])
        daemon.stop()
        try daemon.start()
        let after = try daemon.call("imports.status", ["import": .string(status.string("import") ?? "")])
        #expect(after == before)
        #expect(after.string("state") == "complete")
        #expect(after.int("created") == 3)
        #expect(Self.errors(after) == errors)
    }

    @Test func dryRunWritesNothing() throws {
        let (daemon, _) = try self.setUp()
        let path = daemon.directory + "-dry.xlsx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.writeXLSX(Self.sheet, to: path)
        let head = try Self.head(daemon)
        let status = try Self.runImport(daemon, ["path": .string(path), "dry_run": true])
        #expect(status.string("state") == "complete")
        #expect(status["dry_run"] == .bool(true))
        #expect(status.int("created") == 3)
        #expect(status.int("updated") == 1)
        #expect(Self.errors(status).count == 4)
        let columns = status["columns"]?.arrayValue ?? []
        #expect(columns.map { $0.string("kind") ?? "" } == ["urn", "name", "language", "field", "field", "status", "ignored", "ignored"])
        #expect(columns[4]["new"] == .bool(true))
        #expect(try Self.head(daemon) == head)
        #expect((try daemon.call("fields.list")["fields"]?.arrayValue ?? []).count == 1)
    }

    /// `imports.start` is a command like any: a retry with the same idempotency key answers the first
    /// answer and imports nothing again (concurrent retries too); the same key with another file is
    /// refused.
    @Test func importRetriesWithAnIdempotencyKeyImportOnce() throws {
        let (daemon, _) = try self.setUp()
        var params = Self.csvParams("URN:Mailto,Name\r\nonce@example.com,Once\r\n")
        if case .object(var members) = params {
            members["idempotency_key"] = "import-once"
            params = .object(members)
        }
        let request = params
        let answers = try onThreads(4) { _ in try daemon.call("imports.start", request) }
        let id = try #require(answers[0].string("import"))
        #expect(answers.allSatisfy { $0 == answers[0] }, "\(answers)")
        let status = try Self.wait(daemon, "imports.status", ["import": .string(id)])
        #expect(status.string("state") == "complete")
        #expect(status.int("created") == 1)
        // A retry after it finished: the same answer, nothing imported again.
        let head = try Self.head(daemon)
        #expect(try daemon.call("imports.start", params) == answers[0])
        #expect(try Self.head(daemon) == head)
        // With other clients writing meanwhile, a retry still answers exactly the first answer: the first
        // call answered the head it read before its key was kept, the retry the kept answer's later seq.
        let writing = Atomic<Bool>(true)
        let socket = daemon.socketPath
        let writer = Thread {
            guard let client = try? RPCClient(socketPath: socket) else { return }
            var index = 0
            while writing.load(ordering: .relaxed) {
                _ = try? client.call("contacts.create", ["name": .string("busy\(index)")])
                index += 1
            }
        }
        writer.start()
        var busy = Self.csvParams("URN:Mailto,Name\r\nbusy@example.com,Busy\r\n")
        if case .object(var members) = busy {
            members["idempotency_key"] = "import-busy"
            busy = .object(members)
        }
        usleep(50_000)
        let first = try daemon.call("imports.start", busy)
        usleep(100_000)
        let again = try daemon.call("imports.start", busy)
        writing.store(false, ordering: .relaxed)
        #expect(again == first)
        #expect(try daemon.call("contacts.count", ["query": "name = Once"]).int("total") == 1)
        var other = Self.csvParams("URN:Mailto,Name\r\nother@example.com,Other\r\n")
        if case .object(var members) = other {
            members["idempotency_key"] = "import-once"
            other = .object(members)
        }
        let reused = try daemon.error("imports.start", other)
        #expect(reused.code == -32002)
        #expect(reused.data("reason") == "idempotency_key_reused")
        #expect(try daemon.call("contacts.count", ["query": "name = Other"]).int("total") == 0)
    }

    @Test func csvWithBOMQuotesAndUUIDs() throws {
        let (daemon, existing) = try self.setUp()
        let csv = "\u{FEFF}Contact UUID,URN:Mailto,Name,Field:Age\r\n"
            + "\(existing),ann@example.com,\"Smith, \"\"Ann\"\"\",41\r\n"
            + ",bob@example.com,\"Bob\nJones\",\r\n"
            + "00000000-0000-4000-8000-000000000000,,Ghost,1\r\n"
        let status = try Self.runImport(daemon, Self.csvParams(csv))
        #expect(status.string("state") == "complete")
        #expect(status.int("created") == 1)
        #expect(status.int("updated") == 1)
        #expect(Self.errors(status) == ["4|Contact UUID|Unable to find contact with UUID '00000000-0000-4000-8000-000000000000'"])
        let ann = try daemon.call("contacts.get", ["uuid": .string(existing)])
        #expect(ann.string("name") == "Smith, \"Ann\"")
        #expect(ann["urns"]?.arrayValue?.compactMap(\.stringValue) == ["tel:+250788000001", "mailto:ann@example.com"])
        let bob = try daemon.call("contacts.get", ["urn": "mailto:bob@example.com"])
        #expect(bob.string("name") == "Bob\nJones")
    }

    /// An import command keeps the read models' writes of all its rows until its end: a later row of
    /// the same command must still see what an earlier one did. Row 2 names the existing contact by
    /// UUID and gives it a new URN; row 3 reaches the same contact through its phone number (and must
    /// append after row 2's events); rows 4 and 5 create contacts.
    @Test func laterRowsOfOneCommandSeeWhatEarlierRowsDid() throws {
        let (daemon, existing) = try self.setUp()
        let csv = "Contact UUID,URN:Mailto,URN:Tel,URN:Telegram,Name,Field:Age\r\n"
            + "\(existing),ann@example.com,,,Ann,\r\n"
            + ",,0788000001,,,52\r\n"
            + ",new@example.com,,,Nell,7\r\n"
            + ",,,12345,Tele,\r\n"
        let status = try Self.runImport(daemon, Self.csvParams(csv))
        #expect(status.string("state") == "complete")
        #expect(Self.errors(status) == [])
        #expect(status.int("updated") == 2)
        #expect(status.int("created") == 2)
        let ann = try daemon.call("contacts.get", ["uuid": .string(existing)])
        #expect(ann.string("name") == "Ann")
        #expect(ann["fields"]?["age"]?["number"]?.integerValue == 52)
        #expect(ann["urns"]?.arrayValue?.compactMap(\.stringValue) == ["tel:+250788000001", "mailto:ann@example.com"])
        let history = try daemon.call("contacts.history", ["uuid": .string(existing)])
        // Created, then row 2 (name, URN) and row 3 (age): the later row appended after the earlier one.
        let types = history["items"]?.arrayValue?.compactMap { $0.string("type") } ?? []
        #expect(types.filter { $0 == "contact_field_changed" }.count == 1, "\(types)")
        #expect(types.count >= 4, "\(types)")
        // Searches and counts see the whole command once it is answered.
        #expect(try daemon.call("contacts.search", ["query": "age = 52"])["total"]?.integerValue == 1)
        #expect(try daemon.call("contacts.get", ["urn": "mailto:new@example.com"]).string("name") == "Nell")
        let verify = try daemon.call("projections.verify", ["name": "contacts"])
        #expect(verify["differences"]?.arrayValue?.isEmpty == true, "\(verify)")
    }

    @Test func badFilesAreRefusedAtOnce() throws {
        let (daemon, _) = try self.setUp()
        func refusal(_ csv: String) throws -> RPCError {
            try daemon.error("imports.start", Self.csvParams(csv))
        }
        var error = try refusal("URN:XXX,Name\n1,a\n")
        #expect(error.code == -32602)
        #expect(error.data("message")?.stringValue == "Header 'URN:XXX' is not a valid URN type.")
        error = try refusal("URN:Tel,Name\n+250788000010,a\n+250788000010,b\n")
        #expect(error.data("message")?.stringValue == "Import file contains duplicated contact URN 'tel:+250788000010' on row 3.")
        error = try refusal("Name,Field:Age\nx,1\n")
        #expect(error.data("message")?.stringValue == "Import files must contain either UUID or a URN header.")
        error = try refusal("URN:Tel,,Name\n1,,x\n")
        #expect(error.data("message")?.stringValue == "Import file contains an empty header.")
        error = try refusal("URN:Tel,Field: #$^%\n1,x\n")
        #expect(error.data("message")?.stringValue == "Header 'Field: #$^%' is not a valid field name.")
        error = try refusal("URN:Tel,Name\n,x\n")
        #expect(error.data("message")?.stringValue == "Import file doesn't contain any records.")
        error = try daemon.error("imports.start", ["content_base64": .string(Data("PK\u{3}\u{4}garbage".utf8).base64EncodedString())])
        #expect(error.data("message")?.stringValue == "Import file appears to be corrupted.")
        var big = "URN:Tel\n"
        for index in 0..<25_001 { big += "+2507880\(String(format: "%05d", index))\n" }
        error = try refusal(big)
        #expect(error.code == -32006)
        #expect(error.data("limit")?.integerValue == 25_000)
        #expect(error.data("field") == "records")
        #expect(error.data("reason") == "too_many_records")
        #expect(error.data("message") == "Import files can contain a maximum of 25,000 records.")
        error = try daemon.error("imports.status", ["import": "nope"])
        #expect(error.code == -32001)
    }

    @Test func anOperatorCanRaiseOrLowerTheRecordLimit() throws {
        let daemon = try DaemonHarness(arguments: ["--import-max-records", "3"])
        func start(_ rows: Int) throws -> (answer: JSONValue?, error: RPCError?) {
            var csv = "URN:Tel,Name\n"
            for index in 0..<rows { csv += "+25078800\(String(format: "%04d", index)),n\(index)\n" }
            let params: JSONValue = ["content_base64": .string(Data(csv.utf8).base64EncodedString()), "format": "csv", "dry_run": true]
            do {
                return (try daemon.call("imports.start", params), nil)
            } catch let error as RPCError {
                return (nil, error)
            }
        }
        let refused = try start(4)
        #expect(refused.error?.code == -32006)
        #expect(refused.error?.data("limit")?.integerValue == 3)
        #expect(refused.error?.data("message")?.stringValue == "Import files can contain a maximum of 3 records.")
        #expect(try start(3).answer?["import"]?.stringValue != nil)
        let printed = try Operations.run("contactledgerd", ["--import-max-records", "100000", "--print-config"]).output
        #expect(printed.contains("\"import_max_records\": 100000"))
        let bad = try Operations.run("contactledgerd", ["--import-max-records", "0", "--print-config"])
        #expect(bad.status == 64)
        #expect(bad.error.contains("import_max_records"))
    }

    /// The largest import file grows with the record limit: at the default 25,000 a 22 MB file is
    /// refused, with a reason and a message; at 100,000 it is read. Before, the file limit was 20 MiB
    /// whatever the record limit, so a workspace's own export of 200,000 contacts could not be imported.
    @Test func theFileLimitGrowsWithTheRecordLimit() throws {
        let path = "/tmp/clt-bigimport-\(UUID().uuidString.prefix(6)).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var csv = "URN:Tel,Name\n"
        for index in 0..<10 { csv += "+25078811\(String(format: "%04d", index)),\(String(repeating: "n", count: 2_200_000))\n" }
        try Data(csv.utf8).write(to: URL(fileURLWithPath: path))
        let params: JSONValue = ["path": .string(path), "format": "csv", "dry_run": true]
        let refused = try DaemonHarness().error("imports.start", params)
        #expect(refused.code == -32006)
        #expect(refused.data("reason") == "file_too_large")
        #expect(refused.data("limit")?.integerValue == 20 << 20)
        #expect(refused.data("message")?.stringValue == "Import files can be at most 20,971,520 bytes.")
        let raised = try DaemonHarness(arguments: ["--import-max-records", "100000"])
        let started = try raised.call("imports.start", params)
        let status = try Self.wait(raised, "imports.status", ["import": started["import"] ?? .null])
        #expect(status.string("state") == "complete")
        #expect(status.int("rows_total") == 10)
        #expect(status.int("created") == 10)
    }

    /// Rows that only carry formatting (xlsxwriter and Excel write a styled, empty cell in every row of
    /// a column formatted as text) do not count: a record above more such rows than four times the
    /// record limit was refused -32006 `too_many_rows`, without a message. Rows with values are still
    /// bounded (four times the record limit, plus the header), and the refusal says so.
    @Test func formattedEmptyRowsDoNotCount() throws {
        let daemon = try DaemonHarness(arguments: ["--import-max-records", "3"])
        try daemon.call("workspace.configure", ["default_country": "RW"])
        func cell(_ reference: String, _ text: String) -> String {
            "<c r=\"\(reference)\" t=\"inlineStr\"><is><t>\(text)</t></is></c>"
        }
        let data = "<row r=\"1\">\(cell("A1", "URN:Tel"))\(cell("B1", "Name"))</row><row r=\"2\">\(cell("A2", "+250788000001"))\(cell("B2", "Ann"))</row>"
        let formatted = (3...2_000).map { "<row r=\"\($0)\" s=\"1\" customFormat=\"1\"><c r=\"A\($0)\" s=\"1\"/><c r=\"B\($0)\" s=\"1\"/></row>" }
        let file = HostileXLSX.withSheetRows(data + formatted.joined())
        let status = try Self.runImport(daemon, ["content_base64": .string(file.base64EncodedString())])
        #expect(status.string("state") == "complete", "\(status)")
        #expect(status.int("created") == 1, "\(status)")
        #expect(try daemon.call("contacts.get", ["urn": "tel:+250788000001"]).string("name") == "Ann")

        // The header and 13 rows with a name: 14 rows with values, one more than 4 × 3 + 1.
        let named = (2...14).map { "<row r=\"\($0)\">\(cell("B\($0)", "n\($0)"))</row>" }
        let many = HostileXLSX.withSheetRows("<row r=\"1\">\(cell("A1", "URN:Tel"))\(cell("B1", "Name"))</row>" + named.joined())
        let error = try daemon.error("imports.start", ["content_base64": .string(many.base64EncodedString())])
        #expect(error.code == -32006)
        #expect(error.data("reason")?.stringValue == "too_many_rows")
        #expect(error.data("limit")?.integerValue == 13)
        #expect(error.data("message")?.stringValue == "Import files can contain a maximum of 13 rows with values.")
    }

    /// A shared-string cell without an index (`<c t="s"/>`, `<v></v>`: openpyxl reads both as empty)
    /// leaves its field unchanged, as any empty cell does; the whole file was refused as corrupted.
    @Test(arguments: ["<c r=\"C2\" t=\"s\"/>", "<c r=\"C2\" t=\"s\"><v></v></c>"])
    func emptySharedStringCellsLeaveTheFieldUnchanged(cell: String) throws {
        let (daemon, existing) = try self.setUp()
        try daemon.call("contacts.modify", ["uuid": .string(existing), "modifiers": [["type": "field", "field": "age", "value": "41"]]])
        let rows = """
            <row r="1"><c r="A1" t="inlineStr"><is><t>URN:Tel</t></is></c><c r="B1" t="inlineStr"><is><t>Name</t></is></c>\
            <c r="C1" t="inlineStr"><is><t>Field: Age</t></is></c></row>\
            <row r="2"><c r="A2" t="inlineStr"><is><t>+250788000001</t></is></c><c r="B2" t="inlineStr"><is><t>New Name</t></is></c>\
            \(cell)</row>
            """
        let status = try Self.runImport(daemon, ["content_base64": .string(HostileXLSX.withSheetRows(rows).base64EncodedString())])
        #expect(status.string("state") == "complete", "\(status)")
        #expect(Self.errors(status).isEmpty, "\(status)")
        let contact = try daemon.call("contacts.get", ["uuid": .string(existing)])
        #expect(contact.string("name") == "New Name")
        #expect(contact["fields"]?["age"]?.string("text") == "41")
    }

    /// An XLSX ISO date cell (`t="d"`, as SheetJS writes dates) that names its offset is that moment, as
    /// the same text in a CSV is (behaviour reference §3.2: a full ISO-8601 time with an offset is taken as
    /// is): the offset was dropped and the clock time read in the workspace's zone, so `10:30:00Z` became
    /// 10:30 in Kigali, two hours early. Without an offset a cell is still the sheet's wall-clock time there.
    @Test func isoDateCellsWithAnOffsetAreThatMoment() throws {
        let (daemon, _) = try self.setUp()
        try daemon.call("fields.create", ["key": "when", "name": "When", "type": "datetime"])
        let cells: [(text: String, reading: String)] = [
            ("2023-05-17T10:30:00Z", "2023-05-17T12:30:00.000000+02:00"),
            ("2023-05-17T10:30:00.125Z", "2023-05-17T12:30:00.125000+02:00"),
            ("2023-05-17T10:30:00+05:00", "2023-05-17T07:30:00.000000+02:00"),
            ("2023-05-17T10:30:00+0500", "2023-05-17T07:30:00.000000+02:00"),
            ("2023-05-17T10:30:00-03:30", "2023-05-17T16:00:00.000000+02:00"),
            ("2023-05-17T10:30:00", "2023-05-17T10:30:00.000000+02:00"),
        ]
        let status = try Self.importColumn(daemon, "Field:When", cells.map { "t=\"d\"><v>\($0.text)</v>" }, phones: "+25078801000")
        #expect(status.string("state") == "complete", "\(status)")
        #expect(Self.errors(status).isEmpty, "\(status)")
        for (index, cell) in cells.enumerated() {
            let contact = try daemon.call("contacts.get", ["urn": .string("tel:+25078801000\(index + 2)")])
            #expect(contact["fields"]?["when"]?.string("datetime") == cell.reading, "\(cell.text)")
        }
        // The same moment through a CSV reads the same.
        let csv = try Self.runImport(daemon, Self.csvParams("URN:Tel,Field:When\n+250788010099,2023-05-17T10:30:00Z\n"))
        #expect(csv.string("state") == "complete", "\(csv)")
        let fromCSV = try daemon.call("contacts.get", ["urn": "tel:+250788010099"])
        #expect(fromCSV["fields"]?["when"]?.string("datetime") == cells[0].reading)
    }

    /// A whole number in an XLSX number cell becomes its decimal text without a fraction (behaviour
    /// reference §6.2: `1234`) however many digits it has: from 1e15 up to 2^53 it was `1234567890123456.0`,
    /// which a text field kept and no phone number or id matched. Past what a double holds (2^53) it keeps
    /// every digit: `8925012345678901234` (an ICCID written as a number by a generator of 64-bit integers)
    /// became `8925012345678901000` (import audit), another value without a word.
    @Test func wholeNumbersOfSixteenDigitsImportWithoutAFraction() throws {
        let (daemon, _) = try self.setUp()
        try daemon.call("fields.create", ["key": "ref", "name": "Ref", "type": "text"])
        let numbers = [
            "999999999999999", "1000000000000000", "1234567890123456", "-2345678901234567", "9007199254740992", "9007199254740994", "1234567.25",
            "9007199254740993", "8925012345678901234", "89250123456789012345", "-98765432109876543210",
        ]
        // Eight rows a file: the row number ends the phone number.
        for (part, numbers) in [numbers.prefix(8), numbers.dropFirst(8)].enumerated() {
            let phones = "+2507880\(part)000"
            let status = try Self.importColumn(daemon, "Field:Ref", numbers.map { "><v>\($0)</v>" }, phones: phones)
            #expect(status.string("state") == "complete", "\(status)")
            for (index, number) in numbers.enumerated() {
                let contact = try daemon.call("contacts.get", ["urn": .string("tel:\(phones)\(index + 2)")])
                #expect(contact["fields"]?["ref"]?.string("text") == number)
            }
        }
    }

    /// A number cell whose value is not a decimal number is read as its text, as the same text in a CSV is,
    /// and its row imports: `NaN`, `1e309`, `45063,5` and `7&#10;` refused the whole file as corrupted
    /// (-32602 with no row or column, the good rows not imported either), and `0x10` read as 16 (audit 52, F3).
    @Test func numberCellsThatAreNoDecimalNumberImportAsText() throws {
        let (daemon, _) = try self.setUp()
        try daemon.call("fields.create", ["key": "ref", "name": "Ref", "type": "text"])
        // The import trims every cell (§6.2), so `7` and a line feed is `7`. Rows 2–9: a tenth row's phone
        // would have a digit more.
        let values: [(value: String, text: String)] = [
            ("NaN", "NaN"), ("1e309", "1e309"), ("45063,5", "45063,5"), ("7&#10;", "7"), ("0x10", "0x10"), ("0x1p3", "0x1p3"),
            ("12", "12"), ("1E+16", "10000000000000000"),
        ]
        let status = try Self.importColumn(daemon, "Field:Ref", values.map { "><v>\($0.value)</v>" }, phones: "+25078809000")
        #expect(status.string("state") == "complete", "\(status)")
        #expect(Self.errors(status).isEmpty, "\(status)")
        #expect(status.int("created") == Int64(values.count), "\(status)")
        for (index, entry) in values.enumerated() {
            let contact = try daemon.call("contacts.get", ["urn": .string("tel:+25078809000\(index + 2)")])
            #expect(contact["fields"]?["ref"]?.string("text") == entry.text, "\(entry.value): \(contact)")
        }
        // A number field keeps such a text with no number, as it keeps any text that is none.
        let ages = try Self.importColumn(daemon, "Field:Age", ["><v>NaN</v>", "><v>0x10</v>", "><v>41</v>"], phones: "+25078809100")
        #expect(ages.string("state") == "complete", "\(ages)")
        let hex = try daemon.call("contacts.get", ["urn": "tel:+250788091003"])
        #expect(hex["fields"]?["age"] == .null, "\(hex)")
        let plain = try daemon.call("contacts.get", ["urn": "tel:+250788091004"])
        #expect(plain["fields"]?["age"]?["number"]?.integerValue == 41, "\(plain)")
    }

    /// A record without a UUID whose URNs include an invalid one is errored, with the reference's message
    /// naming its URNs and the invalid URN's column (§6.3: "several owners or an invalid URN → Unable to find
    /// or create contact with URNs …"): with one valid URN beside it, it created a contact with that one, or
    /// updated the contact owning it, and reported only the invalid URN (audit 52, F2; the record's error had
    /// no column, F4). With a UUID the invalid URN stays an error inside an otherwise successful record.
    @Test func aRecordWithoutAUUIDAndAnInvalidURNIsErrored() throws {
        let (daemon, existing) = try self.setUp()
        let other = try #require(try daemon.call("contacts.create", ["name": "Other", "urns": ["tel:+250788000005"]]).string("uuid"))
        let csv = """
            UUID,URN:Tel,URN:Mailto,Name
            ,+250788000002,bad@,New
            ,+250788000001,bad@,Renamed
            \(other),,bad@,By UUID
            ,0788 000 006,bad@,Also new
            ,+250788000007,,Fine

            """
        let status = try Self.runImport(daemon, Self.csvParams(csv))
        #expect(status.string("state") == "complete", "\(status)")
        #expect(
            Self.errors(status) == [
                "2|URN:Mailto|Unable to find or create contact with URNs tel:+250788000002, mailto:bad@",
                "3|URN:Mailto|Unable to find or create contact with URNs tel:+250788000001, mailto:bad@",
                "4|URN:Mailto|'mailto:bad@' is not valid URN",
                "5|URN:Mailto|Unable to find or create contact with URNs tel:+250788000006, mailto:bad@",
            ], "\(status)")
        #expect(status.int("created") == 1, "\(status)")
        #expect(status.int("updated") == 1, "\(status)")
        #expect(try daemon.error("contacts.get", ["urn": "tel:+250788000002"]).code == -32001)
        #expect(try daemon.error("contacts.get", ["urn": "tel:+250788000006"]).code == -32001)
        #expect(try daemon.call("contacts.get", ["uuid": .string(existing)]).string("name") == "Old Name")
        #expect(try daemon.call("contacts.get", ["uuid": .string(other)]).string("name") == "By UUID")
        // Two invalid URNs in two columns: no one column is at fault.
        let two = try Self.runImport(daemon, Self.csvParams("URN:Tel,URN:Mailto\n12,bad@\n"))
        #expect(Self.errors(two) == ["2|-|Unable to find or create contact with URNs tel:12, mailto:bad@"], "\(two)")
    }

    /// An import a kill cut short says how to finish it: re-running the file with a new idempotency key or
    /// none, since a retry with its own key answers this import again and starts nothing. It said
    /// "Re-running the file finishes it", which with the same key did nothing (audit 52, F7).
    @Test func anImportAKillCutShortSaysARetryNeedsANewKey() throws {
        let (daemon, _) = try self.setUp()
        let rows = (0..<20_000).map { "+2507891\(String(format: "%05d", $0)),Person \($0)" }.joined(separator: "\n")
        var params = Self.csvParams("URN:Tel,Name\n" + rows + "\n")
        if case .object(var members) = params {
            members["idempotency_key"] = "import-killed"
            params = .object(members)
        }
        let started = try daemon.call("imports.start", params)
        let id = try #require(started.string("import"))
        daemon.kill()
        try daemon.start()
        let status = try daemon.call("imports.status", ["import": .string(id)])
        try #require(status.string("state") == "failed", "the import finished before the kill: \(status)")
        #expect(status["failure"]?.string("reason") == "interrupted")
        let message = try #require(status["failure"]?.string("message"))
        #expect(message.contains("a new idempotency key"), "\(message)")
        #expect(!message.contains("Person"), "\(message)")
        // As it says: the same key answers the failed import and starts nothing; a new one finishes it.
        #expect(try daemon.call("imports.start", params) == started)
        if case .object(var members) = params {
            members["idempotency_key"] = "import-killed-again"
            params = .object(members)
        }
        let again = try Self.runImport(daemon, params)
        #expect(again.string("state") == "complete", "\(again)")
        #expect((again.int("created") ?? 0) + (again.int("updated") ?? 0) == 20_000, "\(again)")
    }

    /// A new field or group the import could not create is refused at imports.start, and nothing is
    /// written: a `Field:` header whose name, un-snake-cased, is another field's (`Field:Date_of_Birth`
    /// beside a field named `Date of Birth`), and a new group where the workspace has its 250. Both were
    /// accepted; the import then failed (`invalid_name`, `too_many_groups`) saying a re-run would finish
    /// it, which failed the same way.
    @Test func newFieldsAndGroupsTheImportCannotCreateAreRefusedAtTheStart() throws {
        let (daemon, _) = try self.setUp()
        try daemon.call("fields.create", ["key": "dob", "name": "Date of Birth", "type": "datetime"])
        let clash = Data("URN:Tel,Field:Date_of_Birth\n+250788030001,2020-01-01\n".utf8).base64EncodedString()
        let before = try Self.head(daemon)
        for dryRun in [true, false] {
            let error = try daemon.error("imports.start", ["content_base64": .string(clash), "format": "csv", "dry_run": .bool(dryRun)])
            #expect(error.code == -32602)
            #expect(error.data("reason") == "field_name_taken")
            #expect(error.data("field") == "content_base64")
            #expect(error.data("row")?.integerValue == 1)
            #expect(error.data("column") == "Field:Date_of_Birth")
            #expect(error.data("message") == "Field name for 'Field:Date_of_Birth' matches an existing field.")
        }
        #expect(try Self.head(daemon) == before)

        for index in 0..<250 { try daemon.call("groups.create", ["name": .string("G\(index)")]) }
        let full = try Self.head(daemon)
        let rows = Data("URN:Tel,Name\n+250788030002,Ann\n".utf8).base64EncodedString()
        let refused = try daemon.error("imports.start", ["content_base64": .string(rows), "format": "csv", "group": "Brand New"])
        #expect(refused.code == -32006)
        #expect(refused.data("reason") == "too_many_groups")
        #expect(refused.data("field") == "group")
        #expect(refused.data("limit")?.integerValue == 250)
        #expect(refused.data("message") == "This workspace has reached its limit of 250 groups: only existing groups can be chosen.")
        #expect(try Self.head(daemon) == full)
        #expect(try daemon.error("contacts.get", ["urn": "tel:+250788030002"]).code == -32001)
        // An existing group can still be chosen.
        let status = try Self.runImport(daemon, ["content_base64": .string(rows), "format": "csv", "group": "G7"])
        #expect(status.string("state") == "complete", "\(status)")
    }

    /// A file with more new `Field:` headers than the workspace has room for is refused as fields.create
    /// refuses the field past the limit: -32006 `too_many_fields` with the limit (it was -32602 with
    /// `row` 1 and no limit, where every other limit is -32006 with one). Nothing is written.
    @Test func moreNewFieldsThanTheLimitAreALimitError() throws {
        let (daemon, _) = try self.setUp()
        // `age` and 248 more: room for one.
        for index in 0..<248 { try daemon.call("fields.create", ["key": .string("f\(index)"), "name": .string("F\(index)"), "type": "text"]) }
        let before = try Self.head(daemon)
        let error = try daemon.error("imports.start", Self.csvParams("URN:Tel,Field:New One,Field:New Two\n+250788040001,a,b\n"))
        #expect(error.code == -32006)
        #expect(error.data("reason") == "too_many_fields")
        #expect(error.data("limit")?.integerValue == 250)
        #expect(error.data("field") == "content_base64")
        #expect(error.data("message") == "This workspace has reached its limit of fields.")
        #expect(try Self.head(daemon) == before)

        try daemon.call("fields.create", ["key": "last", "name": "Last", "type": "text"])
        let created = try daemon.error("fields.create", ["key": "past", "name": "Past", "type": "text"])
        #expect(created.code == error.code)
        #expect(created.data("reason") == error.data("reason"))
        #expect(created.data("limit") == error.data("limit"))
    }

    @Test func exportsAGroupThatOpenpyxlReadsAndReimportsUnchanged() throws {
        let (daemon, existing) = try self.setUp()
        let group = try daemon.call("groups.create", ["name": "Customers"])
        try daemon.call("contacts.modify", [
            "uuid": .string(existing),
            "modifiers": [
                ["type": "groups", "action": "add", "groups": [group["uuid"] ?? .null]],
                ["type": "field", "field": "age", "value": "41"],
                ["type": "urns", "action": "append", "urns": ["tel:+250788000002", "mailto:ann@example.com"]],
                ["type": "language", "language": "eng"],
            ],
        ])
        try daemon.call("contacts.create", ["name": "Outsider", "urns": ["tel:+250788000009"]])
        let path = daemon.directory + "-export.xlsx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let started = try daemon.call("exports.start", ["group": "Customers", "format": "xlsx", "path": .string(path)])
        let status = try Self.wait(daemon, "exports.status", ["export": started["export"] ?? .null])
        #expect(status.string("state") == "complete")
        #expect(status.int("rows_done") == 1)
        #expect(status.string("path") == path)

        let book = try Self.readXLSX(path)
        #expect(book.string("title") == "Contacts 1")
        let rows = book["rows"]?.arrayValue ?? []
        #expect(rows.count == 2)
        #expect(rows[0] == [
            "Contact UUID", "Name", "Language", "Status", "Created On", "Last Seen On", "URN:Mailto", "URN:Tel", "URN:Tel",
            "Field:Age", "Group:Customers",
        ])
        let row = rows[1].arrayValue ?? []
        #expect(row[0].stringValue == existing)
        #expect(row[1].stringValue == "Old Name")
        #expect(row[2].stringValue == "eng")
        #expect(row[3].stringValue == "Active")
        #expect(row[4].stringValue?.hasPrefix("20") == true)
        #expect(row[5] == .null)
        #expect(row[6].stringValue == "ann@example.com")
        #expect(row[7].stringValue == "+250788000001")
        #expect(row[8].stringValue == "+250788000002")
        #expect(row[9] == 41)
        #expect(row[10] == .bool(true))

        // Re-importing the export changes nothing.
        let head = try Self.head(daemon)
        let again = try Self.runImport(daemon, ["path": .string(path)])
        #expect(again.string("state") == "complete")
        #expect(again.int("updated") == 1)
        #expect(again.int("created") == 0)
        #expect(Self.errors(again) == [])
        #expect(try Self.head(daemon) == head)

        // CSV of a query, with quoting.
        try daemon.call("contacts.modify", ["uuid": .string(existing), "modifiers": [["type": "name", "name": "Smith, \"Ann\""]]])
        let csvPath = daemon.directory + "-export.csv"
        defer { try? FileManager.default.removeItem(atPath: csvPath) }
        let csvJob = try daemon.call("exports.start", ["query": "age > 40", "format": "csv", "path": .string(csvPath)])
        #expect(try Self.wait(daemon, "exports.status", ["export": csvJob["export"] ?? .null]).string("state") == "complete")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: csvPath))
        #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]))
        let csv = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        #expect(csv.hasPrefix("Contact UUID,Name,"))
        #expect(csv.contains("\"Smith, \"\"Ann\"\"\""))

        let missing = try daemon.error("exports.start", ["group": "Nope", "format": "xlsx", "path": .string(path)])
        #expect(missing.code == -32001)
        let empty = try daemon.error("exports.start", ["group": "", "format": "xlsx", "path": .string(path)])
        #expect(empty.code == -32602)
        #expect(empty.data("field") == "group")
        // An import's new group is named by `group`: its errors name that param.
        for (name, code) in [("  ", -32602), (String(repeating: "g", count: 65), -32006)] {
            let params: JSONValue = [
                "content_base64": .string(Data("Name,URN:tel\nAnn,+250788000001\n".utf8).base64EncodedString()), "format": "csv", "group": .string(name),
            ]
            let refused = try daemon.error("imports.start", params)
            #expect(refused.code == code)
            #expect(refused.data("field") == "group")
        }
    }

    @Test func anonymousExportsHaveNoURNs() throws {
        let (daemon, _) = try self.setUp()
        try daemon.call("workspace.configure", ["anonymous": true])
        let path = daemon.directory + "-anon.xlsx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let job = try daemon.call("exports.start", ["format": "xlsx", "path": .string(path)])
        #expect(try Self.wait(daemon, "exports.status", ["export": job["export"] ?? .null]).string("state") == "complete")
        let rows = try Self.readXLSX(path)["rows"]?.arrayValue ?? []
        let header = rows.first?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(Array(header.prefix(4)) == ["Contact UUID", "Ref", "Legacy ID", "Scheme"])
        #expect(!header.contains { $0.hasPrefix("URN:") })
        #expect(rows[1].arrayValue?[3].stringValue == "tel")
        let text = try Self.python("import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); print(''.join(z.read(n).decode() for n in z.namelist()))", [path])
        #expect(!text.contains("250788000001"))
    }

    /// Found by a resource audit: six imports at once had each of their 500-row commands in every write
    /// batch, and another client's create waited for all of them, up to 3.5 s. A batch now takes one
    /// bulk command at most (and the small commands that came meanwhile go first, alone, after one).
    @Test func concurrentImportsTakeTheWriterOneBatchOfRowsAtATime() throws {
        let daemon = try DaemonHarness()
        let imports = (0..<4).map { number in
            let rows = (0..<2_000).map { "+1\(400 + number)555\(String(format: "%04d", $0)),Person \($0)" }
            let csv = "URN:Tel,Name\n" + rows.joined(separator: "\n") + "\n"
            return ["content_base64": .string(Data(csv.utf8).base64EncodedString()), "format": "csv"] as JSONValue
        }
        let started = try onThreads(4) { index in try daemon.call("imports.start", imports[index]) }
        for job in started {
            let status = try Self.wait(daemon, "imports.status", ["import": job["import"] ?? .null])
            #expect(status.string("state") == "complete")
            #expect(status.int("created") == 2_000)
        }
        // Each import wrote 5 bulk commands (its start and 4 batches of 500 rows), 20 in all, each in a
        // batch of its own: at least 20 commits. Sharing batches, they took about 8.
        let commits = try daemon.call("system.stats").int("commits") ?? 0
        #expect(commits >= 20, "\(commits) commits for 20 bulk commands")
        // A small command still gets in.
        #expect(try daemon.call("contacts.create", ["name": "After"]).string("uuid") != nil)
    }

    /// Deleting the group an import adds its contacts to, while the import runs, detaches the group from
    /// it (contacts-behaviour §4.4): the later rows still write their names and values, without the group
    /// and without an error each. They lost every value while counting as created, with one error per
    /// row ("The import group no longer exists").
    @Test func aGroupDeletedWhileItsImportRunsIsDetachedFromIt() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let group = try #require(try daemon.call("groups.create", ["name": "Imported"]).string("uuid"))
        let rows = (0..<3_000).map { "+1400555\(String(format: "%04d", $0)),Person \($0),\($0 % 90)" }
        let csv = "URN:Tel,Name,Field:Age\n" + rows.joined(separator: "\n") + "\n"
        let started = try daemon.call("imports.start", [
            "content_base64": .string(Data(csv.utf8).base64EncodedString()), "format": "csv", "group": .string(group),
        ])
        try daemon.call("groups.delete", ["uuid": .string(group)])
        let status = try Self.wait(daemon, "imports.status", ["import": started["import"] ?? .null])
        #expect(status.string("state") == "complete")
        #expect(status.int("created") == 3_000)
        #expect(Self.errors(status) == [])
        #expect(try daemon.call("contacts.count", ["query": "age >= 0"]).int("total") == 3_000)
        #expect(try daemon.call("contacts.count", ["query": "name ~ person"]).int("total") == 3_000)
        // The deletion came before some of the rows: their contacts never joined the group.
        let joins = try daemon.call("events.read", ["types": ["contact_groups_changed"], "limit": 1000])["items"]?.arrayValue ?? []
        #expect(joins.count < 1000, "every row was imported before the group was deleted: the test shows nothing")
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// An export shows a datetime as its wall-clock time, to the minute and without an offset; where clocks
    /// go back that time is read twice, and re-importing the export moved the value to the other reading
    /// (an hour off: New York's second 01:30 became its first, Chatham's first 03:35 its second).
    @Test(arguments: [
        ("America/New_York", "MM-DD-YYYY", ["2020-11-01T05:30:00Z", "2020-11-01T06:30:00Z"]),
        ("Pacific/Chatham", "DD-MM-YYYY", ["2020-04-04T13:50:00Z", "2020-04-04T14:50:00Z"]),
    ])
    func reimportingAnExportKeepsATimeReadTwice(zone: String, format: String, instants: [String]) throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["timezone": .string(zone), "date_format": .string(format)])
        try daemon.call("fields.create", ["key": "d", "type": "datetime"])
        var uuids: [String] = []
        for (index, instant) in instants.enumerated() {
            let created = try daemon.call("contacts.create", ["name": .string("P\(index)"), "fields": ["d": .string(instant)]])
            uuids.append(try #require(created.string("uuid")))
        }
        func readings() throws -> [String?] {
            try uuids.map { try daemon.call("contacts.get", ["uuid": .string($0)])["fields"]?["d"]?.string("datetime") }
        }
        let before = try readings()
        #expect(before[0] != before[1])
        let path = daemon.directory + "-overlap.csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let started = try daemon.call("exports.start", ["format": "csv", "path": .string(path)])
        #expect(try Self.wait(daemon, "exports.status", ["export": started["export"] ?? .null]).string("state") == "complete")
        let again = try Self.runImport(daemon, ["path": .string(path)])
        #expect(again.string("state") == "complete")
        #expect(Self.errors(again) == [])
        #expect(try readings() == before)
    }

    /// Imports started together, each naming the same new group, all add their contacts to the one group
    /// the first of them made: the others failed on the name (`name_taken`) having imported nothing.
    @Test func importsStartedTogetherIntoOneNewGroupShareIt() throws {
        let daemon = try DaemonHarness()
        let client = try daemon.client()
        // Three files of 600 rows; each shares 100 URNs with the next.
        let starts: [JSONValue] = (0..<3).map { file in
            let rows = (file * 500..<file * 500 + 600).map { "+1400555\(String(format: "%04d", $0)),Person \($0)" }
            let csv = "URN:Tel,Name\n" + rows.joined(separator: "\n") + "\n"
            return [
                "jsonrpc": "2.0", "id": .integer(Int64(file)), "method": "imports.start",
                "params": ["content_base64": .string(Data(csv.utf8).base64EncodedString()), "format": "csv", "group": "Newcomers"],
            ]
        }
        try client.send(raw: JSONLine.encode(.array(starts)) + [10])
        let answers = try #require(try client.readValue().arrayValue)
        let imports = answers.compactMap { $0["result"]?["import"] }
        #expect(imports.count == 3, "\(answers)")
        for id in imports {
            let status = try Self.wait(daemon, "imports.status", ["import": id])
            #expect(status.string("state") == "complete", "\(status)")
            #expect(Self.errors(status) == [])
        }
        let groups = try #require(try daemon.call("groups.list")["groups"]?.arrayValue)
        #expect(groups.count == 1)
        #expect(groups.first?.string("name") == "Newcomers")
        #expect(groups.first?.int("count") == 1_600)
        #expect(try daemon.call("contacts.count", ["query": "name ~ person"]).int("total") == 1_600)
    }

    /// Deleting a field or a group changes every contact that has it (a second and more for a field all
    /// of 60,000 contacts have), so each is a bulk command, as an import's batch is: a write batch takes
    /// one at most, and a small command waits for one of them, not for every one queued (a create waited
    /// 11 s behind two field deletions that shared its batch). Eight deletions sent at once take eight
    /// batches.
    @Test func fieldAndGroupDeletionsTakeTheWriterOneAtATime() throws {
        let daemon = try DaemonHarness()
        let groups = try (0..<4).map { number in
            try daemon.call("fields.create", ["key": .string("doomed\(number)"), "type": "text"])
            return try #require(try daemon.call("groups.create", ["name": .string("Doomed \(number)")]).string("uuid"))
        }
        let before = try daemon.call("system.stats").int("commits") ?? 0
        let ready = Atomic<Int>(0)
        _ = try onThreads(8) { index in
            let client = try daemon.client()
            ready.add(1, ordering: .relaxed)
            while ready.load(ordering: .relaxed) < 8 { usleep(100) }
            if index < 4 {
                try client.call("fields.delete", ["key": .string("doomed\(index)")])
            } else {
                try client.call("groups.delete", ["uuid": .string(groups[index - 4])])
            }
            return 0
        }
        let commits = (try daemon.call("system.stats").int("commits") ?? 0) - before
        #expect(commits >= 8, "\(commits) commits for 8 deletions")
        #expect(try daemon.call("fields.list")["fields"]?.arrayValue?.isEmpty == true)
        #expect(try daemon.call("groups.list")["groups"]?.arrayValue?.isEmpty == true)
    }

    /// A retried `exports.start` with the same idempotency key answers the first export and starts none,
    /// also after a restart; the key with other params is refused. It was refused as an unknown member,
    /// so a client whose answer was lost started a second export of the same file.
    @Test func exportsStartWithAnIdempotencyKeyStartsOneExport() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 50)
        let path = daemon.directory + "-once.csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let params: JSONValue = ["format": "csv", "path": .string(path), "idempotency_key": "export-once"]
        let first = try daemon.call("exports.start", params)
        let id = try #require(first.string("export"))
        #expect(try daemon.call("exports.start", params) == first)
        #expect(try Self.wait(daemon, "exports.status", ["export": .string(id)]).string("state") == "complete")
        #expect(try daemon.call("exports.start", params) == first)
        let other = try daemon.error("exports.start", ["format": "xlsx", "path": .string(path), "idempotency_key": "export-once"])
        #expect(other.code == -32002)
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try daemon.call("exports.start", params) == first)
        #expect(try daemon.call("exports.status", ["export": .string(id)]).string("state") == "complete")
    }

    /// An export's state outlives the daemon: a finished one answers as before after a restart, and one
    /// that a kill cut short answers `failed` with reason `interrupted`. Both answered -32001 after a
    /// restart: the state was kept in memory only.
    @Test func exportStatesSurviveARestart() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 3_000)
        let path = daemon.directory + "-restart.csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let finished = try daemon.call("exports.start", ["format": "csv", "path": .string(path)])
        let done = try Self.wait(daemon, "exports.status", ["export": finished["export"] ?? .null])
        #expect(done.string("state") == "complete")
        let cut = try daemon.call("exports.start", ["format": "xlsx", "path": .string(path + ".xlsx")])
        daemon.kill()
        try daemon.start()
        #expect(try daemon.call("exports.status", ["export": finished["export"] ?? .null]) == done)
        let after = try daemon.call("exports.status", ["export": cut["export"] ?? .null])
        if after.string("state") == "failed" {
            #expect(after["failure"]?.string("reason") == "interrupted")
            #expect(!FileManager.default.fileExists(atPath: path + ".xlsx"))
        } else {
            #expect(after.string("state") == "complete", "\(after)")
        }
        // Another workspace's export stays not found, as before the restart.
        #expect(try daemon.error("exports.status", ["workspace": "other", "export": finished["export"] ?? .null]).code == -32001)
    }

    /// An empty id is a malformed call, -32602 `{field, reason: "empty"}` as the schemas have it
    /// (`minLength: 1`, a field key's pattern) and as `exports.start {group: ""}` answers, not an unknown
    /// one: `exports.status`, `imports.status`, `events.unsubscribe` and `fields.usage`, `fields.update`,
    /// `fields.delete` answered -32001 `not_found` for `""`.
    @Test func emptyIdsAreInvalidParams() throws {
        let daemon = try DaemonHarness()
        for (method, member, params) in [
            ("exports.status", "export", [:]), ("imports.status", "import", [:]), ("events.unsubscribe", "subscription", [:]),
            ("fields.usage", "key", [:]), ("fields.update", "key", ["name": "Age"]), ("fields.delete", "key", [:]),
        ] as [(String, String, [String: JSONValue])] {
            let refused = try daemon.error(method, .object(params.merging([member: ""]) { $1 }))
            #expect(refused.code == -32602, "\(method)")
            #expect(refused.data("field") == .string(member), "\(method)")
            #expect(refused.data("reason") == "empty", "\(method)")
        }
    }

    /// Exports of every contact to `directory` (a new one, the test's own), an XLSX and a CSV, waited for
    /// until both are writing their rows (their temporary files are there, some rows done): the daemon
    /// has `count` contacts, enough that neither is done by then. Their ids.
    static func exportsInFlight(_ daemon: DaemonHarness, count: Int, directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try daemon.populate(count: count)
        let ids = try ["xlsx", "csv"].map { format in
            try #require(try daemon.call("exports.start", ["format": .string(format), "path": .string(directory + "/all." + format)]).string("export"))
        }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let states = try ids.map { try daemon.call("exports.status", ["export": .string($0)]) }
            let temporary = try Self.temporaryFiles(in: directory)
            if states.allSatisfy({ ($0.int("rows_done") ?? 0) > 0 }), temporary.contains(where: { $0.hasSuffix(".part") }),
                temporary.contains(where: { $0.hasSuffix(".tmp") })
            {
                try #require(states.allSatisfy { $0.string("state") == "running" }, "an export ended before it could be cut short: \(states)")
                return ids
            }
            try #require(states.allSatisfy { $0.string("state") != "complete" && $0.string("state") != "failed" }, "\(states)")
            usleep(10_000)
        }
        Issue.record("the exports never got under way")
        return ids
    }

    /// The export temporary files in `directory`.
    static func temporaryFiles(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".spreadsheet-") }.sorted()
    }

    /// A kill mid-export leaves its temporary files (the worksheet part, the CSV: every row written so far)
    /// beside the destination; the next start removes them, and only them: another `.spreadsheet-` file
    /// there stays. They stayed for good: nothing knew their random names.
    @Test func theStartAfterAKillRemovesAnExportsTemporaryFiles() throws {
        let daemon = try DaemonHarness()
        let directory = daemon.directory + "-killed"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ids = try Self.exportsInFlight(daemon, count: 20_000, directory: directory)
        daemon.kill()
        #expect(try Self.temporaryFiles(in: directory).count == 2, "the kill left the files it cut short")
        let foreign = directory + "/.spreadsheet-0123456789abcdef.part"
        #expect(FileManager.default.createFile(atPath: foreign, contents: Data("not the daemon's".utf8)))
        try daemon.start()
        #expect(try Self.temporaryFiles(in: directory) == [".spreadsheet-0123456789abcdef.part"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == 1)
        let removals = { daemon.log().components(separatedBy: "removed an interrupted export's temporary files").count - 1 }
        #expect(removals() == 2, "one line for each export:\n\(daemon.log().suffix(3_000))")
        for id in ids {
            let status = try daemon.call("exports.status", ["export": .string(id)])
            #expect(status.string("state") == "failed", "\(status)")
            #expect(status["failure"]?.string("reason") == "interrupted", "\(status)")
        }
        // Once is enough: the next start finds nothing to remove.
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try Self.temporaryFiles(in: directory) == [".spreadsheet-0123456789abcdef.part"])
        #expect(removals() == 0)
    }

    /// Row errors and file refusals quote URNs in a normal workspace (reference §6.1, §6.3) and mask
    /// their paths in an anonymous one, as its answers do (§8.1): a taken URN would also tell that the
    /// number belongs to a contact.
    @Test(arguments: [false, true])
    func importErrorsMaskURNsInAnonymousWorkspaces(_ anonymous: Bool) throws {
        let (daemon, _) = try self.setUp()
        try daemon.call("workspace.configure", ["anonymous": .bool(anonymous)])
        let other = try #require(try daemon.call("contacts.create", ["urns": ["tel:+250788000002"]]).string("uuid"))
        let existing = try #require(try daemon.call("contacts.get", ["urn": "tel:+250788000001"]).string("uuid"))
        let csv = "UUID,URN:Tel,URN:Mailto\n\(other),+250788000001,\n\(existing),,zq bad mail\n,,zq bad mail\n,+250788000003,zq bad mail\n"
        let status = try Self.runImport(daemon, Self.csvParams(csv))
        let shown = { (urn: String) in anonymous ? String(urn.prefix { $0 != ":" }) + ":********" : urn }
        #expect(
            Self.errors(status) == [
                "2|URN:Tel|URN \(shown("tel:+250788000001")) already taken by another contact",
                "3|URN:Mailto|'\(shown("mailto:zq bad mail"))' is not valid URN",
                "4|URN:Mailto|Unable to find or create contact with URNs \(shown("mailto:zq bad mail"))",
                "5|URN:Mailto|Unable to find or create contact with URNs \(shown("tel:+250788000003")), \(shown("mailto:zq bad mail"))",
            ]
        )
        let refused = try daemon.error("imports.start", Self.csvParams("URN:Tel\n+250788000009\n+250788000009\n"))
        #expect(refused.code == -32602)
        #expect(refused.data("message") == .string("Import file contains duplicated contact URN '\(shown("tel:+250788000009"))' on row 3."))
    }

    /// The answers of the four methods validate against their schemas.
    @Test func trafficMatchesTheSchemas() throws {
        let (daemon, _) = try self.setUp()
        var lines: [JSONValue] = []
        func record(_ method: String, _ params: JSONValue) throws -> JSONValue {
            do {
                let result = try daemon.call(method, params)
                lines.append(["method": .string(method), "params": params, "result": result])
                return result
            } catch let error as RPCError {
                let value = try JSONDecoder().decode(JSONValue.self, from: Data(JSONLine.encode(error)))
                lines.append(["method": .string(method), "params": params, "error": value])
                return .null
            }
        }
        let csv = "URN:Tel,Name,Language\n+250788000001,Ann,xyz\n+250788000005,Eve,\n"
        let started = try record("imports.start", ["content_base64": .string(Data(csv.utf8).base64EncodedString()), "format": "csv", "group": "Imported"])
        _ = try Self.wait(daemon, "imports.status", ["import": started["import"] ?? .null])
        _ = try record("imports.status", ["import": started["import"] ?? .null])
        _ = try record("imports.start", ["content_base64": .string(Data("Name\nx\n".utf8).base64EncodedString())])
        _ = try record("imports.status", ["import": "unknown"])
        let path = daemon.directory + "-schema.xlsx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let export = try record("exports.start", ["group": "Imported", "format": "xlsx", "path": .string(path)])
        _ = try Self.wait(daemon, "exports.status", ["export": export["export"] ?? .null])
        let exported = try record("exports.status", ["export": export["export"] ?? .null])
        #expect(exported.int("rows_done") == 2, "both imported contacts joined the import group")
        _ = try record("exports.start", ["format": "xlsx", "path": "relative.xlsx"])

        let traffic = daemon.directory + "-traffic.jsonl"
        let text = lines.map { String(decoding: JSONLine.encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
        try text.write(toFile: traffic, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: traffic) }
        let checker = ChildProcess()
        checker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        checker.arguments = ["python3", Self.repositoryRoot.appendingPathComponent("Tools/schema_check.py").path, traffic]
        let output = Pipe()
        checker.standardOutput = output
        checker.standardError = output
        try checker.run()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        checker.waitUntilExit()
        #expect(checker.terminationStatus == 0, "\(report)")
        #expect(report.contains(" passed, 0 failed"))
    }
}
