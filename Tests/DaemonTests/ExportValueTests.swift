// ContactLedger — daemon tests.
import Foundation
import RPC
import Testing

/// What an export's cells hold, through the real daemon: field values as the workspace displays them
/// (behaviour reference §7, §3.2), text that survives XML, CSV values no spreadsheet program runs as a
/// formula; and that every export re-imports to the same values.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ExportValueTests {
    typealias Sheets = ImportExportTests

    /// Configures `workspace` as Kigali, `DD-MM-YYYY`, with fields `joined` (datetime), `age` (number)
    /// and `note` (text).
    static func configure(_ daemon: DaemonHarness, workspace: String) throws {
        let name = JSONValue.string(workspace)
        try daemon.call("workspace.configure", [
            "workspace": name, "default_country": "RW", "timezone": "Africa/Kigali", "date_format": "DD-MM-YYYY",
        ])
        for (key, fieldName, type) in [("joined", "Joined", "datetime"), ("age", "Age", "number"), ("note", "Note", "text")] {
            try daemon.call("fields.create", ["workspace": name, "key": .string(key), "name": .string(fieldName), "type": .string(type)])
        }
    }

    /// Runs an export of the active contacts of `workspace` to `path` and waits for it.
    static func export(_ daemon: DaemonHarness, format: String, to path: String, workspace: String = "main") throws {
        let job = try daemon.call("exports.start", ["workspace": .string(workspace), "format": .string(format), "path": .string(path)])
        let status = try Sheets.wait(daemon, "exports.status", ["workspace": .string(workspace), "export": job["export"] ?? .null])
        #expect(status.string("state") == "complete")
    }

    /// An export's rows, read by openpyxl (XLSX) or Python's `csv` module (CSV).
    static func rows(_ path: String, format: String) throws -> [[JSONValue]] {
        let rows: JSONValue?
        if format == "xlsx" {
            rows = try Sheets.readXLSX(path)["rows"]
        } else {
            let output = try Sheets.python("""
                import csv, json, sys
                with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
                    print(json.dumps(list(csv.reader(f))))
                """, [path])
            rows = try JSONDecoder().decode(JSONValue.self, from: Data(output.utf8))
        }
        return (rows?.arrayValue ?? []).map { $0.arrayValue ?? [] }
    }

    /// The cell of `row` under the header `column`.
    static func cell(_ rows: [[JSONValue]], _ row: Int, _ column: String) -> JSONValue? {
        guard let index = rows.first?.firstIndex(of: .string(column)), row < rows.count, index < rows[row].count else { return nil }
        return rows[row][index]
    }

    /// The contact of `workspace` that owns `urn`.
    static func contact(_ daemon: DaemonHarness, _ urn: String, workspace: String = "main") throws -> JSONValue {
        try daemon.call("contacts.get", ["workspace": .string(workspace), "urn": .string(urn)])
    }

    /// A datetime field shows the workspace's date format and timezone to the minute, a number field its
    /// number, a value that does not parse as its field's type nothing. The export used to hold each
    /// value's raw text (`2023-05-17T10:30:00Z`, `007`, `not a date`). Importing the export into another
    /// workspace of the same settings gives the same readings.
    @Test(arguments: ["xlsx", "csv"])
    func fieldValuesAreExportedAsDisplayed(_ format: String) throws {
        let daemon = try DaemonHarness()
        try Self.configure(daemon, workspace: "main")
        let people: [(urn: String, fields: JSONValue)] = [
            ("tel:+250788300001", ["joined": "2023-05-17T10:30:00Z", "age": "007", "note": "hello"]),
            ("tel:+250788300002", ["joined": "not a date", "age": "lots", "note": "--x"]),
            ("tel:+250788300003", ["joined": "18/05/2023 9:05", "age": "12345678901234567890.5", "note": " spaced"]),
            ("tel:+250788300004", ["age": "-1.50"]),
        ]
        for (index, person) in people.enumerated() {
            try daemon.call("contacts.create", ["name": .string("P\(index)"), "urns": [.string(person.urn)], "fields": person.fields])
        }
        let path = daemon.directory + "-display.\(format)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.export(daemon, format: format, to: path)
        let rows = try Self.rows(path, format: format)
        #expect(rows.count == 5)
        let empty: JSONValue = format == "csv" ? "" : .null
        #expect(Self.cell(rows, 1, "Field:Joined") == "17-05-2023 12:30")
        #expect(Self.cell(rows, 1, "Field:Age") == (format == "csv" ? "7" : 7))
        #expect(Self.cell(rows, 1, "Field:Note") == "hello")
        #expect(Self.cell(rows, 2, "Field:Joined") == empty)
        #expect(Self.cell(rows, 2, "Field:Age") == empty)
        #expect(Self.cell(rows, 3, "Field:Joined") == "18-05-2023 09:05")
        // More digits than a spreadsheet's number holds: the exact text.
        #expect(Self.cell(rows, 3, "Field:Age") == "12345678901234567890.5")
        #expect(Self.cell(rows, 4, "Field:Age") == (format == "csv" ? "-1.5" : .double(-1.5)))

        // Into another workspace with the same settings (without the UUID column: a UUID names a
        // contact of its own workspace).
        try Self.configure(daemon, workspace: "copy")
        let copyPath = daemon.directory + "-copy.\(format)"
        defer { try? FileManager.default.removeItem(atPath: copyPath) }
        if format == "xlsx" {
            try Sheets.python("""
                import sys, openpyxl
                wb = openpyxl.load_workbook(sys.argv[1]); wb.active.delete_cols(1); wb.save(sys.argv[2])
                """, [path, copyPath])
        } else {
            try Sheets.python("""
                import csv, sys
                with open(sys.argv[1], encoding="utf-8-sig", newline="") as f: rows = list(csv.reader(f))
                with open(sys.argv[2], "w", encoding="utf-8", newline="") as f: csv.writer(f).writerows(r[1:] for r in rows)
                """, [path, copyPath])
        }
        let started = try daemon.call("imports.start", ["workspace": "copy", "path": .string(copyPath)])
        let imported = try Sheets.wait(daemon, "imports.status", ["workspace": "copy", "import": started["import"] ?? .null])
        #expect(imported.string("state") == "complete")
        #expect(imported.int("created") == 4)
        #expect(Sheets.errors(imported) == [])
        for person in people {
            let original = try Self.contact(daemon, person.urn)["fields"]
            let copy = try Self.contact(daemon, person.urn, workspace: "copy")["fields"]
            #expect(copy?["joined"]?["datetime"] == original?["joined"]?["datetime"], "\(person.urn)")
            #expect(copy?["age"]?["number"] == original?["age"]?["number"], "\(person.urn)")
            // An import trims text (§6.2): ` spaced` comes back `spaced`.
            let note = original?["note"]?["text"]?.stringValue?.trimmingCharacters(in: .whitespaces)
            #expect(copy?["note"]?["text"]?.stringValue == note, "\(person.urn)")
        }
        // A value not set for its field's type was exported empty: the copy has none.
        #expect(try Self.contact(daemon, "tel:+250788300002", workspace: "copy")["fields"]?["age"] == .null)
    }

    /// A carriage return survives the XLSX: it is written `&#13;`, where a raw one came back as a line
    /// feed, so re-importing an unchanged export changed the value.
    @Test func carriageReturnsSurviveAnXLSXRoundTrip() throws {
        let daemon = try DaemonHarness()
        try Self.configure(daemon, workspace: "main")
        let texts = ["line1\r\nline2", "cr\ronly", "tab\tinside", "lf\nonly"]
        for (index, text) in texts.enumerated() {
            let urn = JSONValue.string("tel:+25078840000\(index)")
            try daemon.call("contacts.create", ["urns": [urn], "fields": ["note": .string(text)]])
        }
        let path = daemon.directory + "-cr.xlsx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.export(daemon, format: "xlsx", to: path)
        let sheetXML = try Sheets.python(
            "import sys, zipfile; print(repr(zipfile.ZipFile(sys.argv[1]).read('xl/worksheets/sheet1.xml')))", [path])
        #expect(sheetXML.contains("line1&#13;\\nline2"))
        #expect(!sheetXML.contains("\\r"))
        let rows = try Self.rows(path, format: "xlsx")
        #expect(Set((1..<rows.count).compactMap { Self.cell(rows, $0, "Field:Note")?.stringValue }) == Set(texts))

        let head = try Sheets.head(daemon)
        let again = try Sheets.runImport(daemon, ["path": .string(path)])
        #expect(again.string("state") == "complete")
        #expect(again.int("updated") == 4)
        #expect(Sheets.errors(again) == [])
        #expect(try Sheets.head(daemon) == head)
        for (index, text) in texts.enumerated() {
            #expect(try Self.contact(daemon, "tel:+25078840000\(index)")["fields"]?["note"]?["text"] == .string(text))
        }
    }

    /// A CSV export puts `'` before a value a spreadsheet program would run as a formula (CSV injection),
    /// not before a plain number; the XLSX export, whose cells are strings, does not; and re-importing the
    /// CSV removes the quote again, so nothing changes. The CSV export wrote `=HYPERLINK(…)` as is.
    @Test func csvExportsQuoteFormulasAndReimportUnchanged() throws {
        let daemon = try DaemonHarness()
        try Self.configure(daemon, workspace: "main")
        let people: [(urn: String, name: String, note: String, age: String)] = [
            ("tel:+250788500001", "=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-5"),
            ("tel:+250788500002", "@SUM(1)", "-2+3", "+5"),
            ("tel:+250788500003", "'=quoted already", "+250788123123", "-0.5"),
            ("tel:+250788500004", "Plain Name", "=1+1", "3"),
        ]
        for person in people {
            try daemon.call("contacts.create", [
                "name": .string(person.name), "urns": [.string(person.urn)],
                "fields": ["note": .string(person.note), "age": .string(person.age)],
            ])
        }
        let csvPath = daemon.directory + "-formulas.csv"
        let xlsxPath = daemon.directory + "-formulas.xlsx"
        defer {
            try? FileManager.default.removeItem(atPath: csvPath)
            try? FileManager.default.removeItem(atPath: xlsxPath)
        }
        try Self.export(daemon, format: "csv", to: csvPath)
        try Self.export(daemon, format: "xlsx", to: xlsxPath)
        let csv = try Self.rows(csvPath, format: "csv")
        let expected: [(name: String, note: String, age: String, urn: String)] = [
            ("'=HYPERLINK(\"http://x\",\"y\")", "'+cmd|' /C calc'!A0", "-5", "+250788500001"),
            ("'@SUM(1)", "'-2+3", "", "+250788500002"),
            ("''=quoted already", "+250788123123", "-0.5", "+250788500003"),
            ("Plain Name", "'=1+1", "3", "+250788500004"),
        ]
        #expect(csv.count == 5)
        for (index, row) in expected.enumerated() {
            #expect(Self.cell(csv, index + 1, "Name") == .string(row.name))
            #expect(Self.cell(csv, index + 1, "Field:Note") == .string(row.note))
            #expect(Self.cell(csv, index + 1, "Field:Age") == .string(row.age))
            #expect(Self.cell(csv, index + 1, "URN:Tel") == .string(row.urn))
        }
        let xlsx = try Self.rows(xlsxPath, format: "xlsx")
        for (index, person) in people.enumerated() {
            #expect(Self.cell(xlsx, index + 1, "Name") == .string(person.name))
            #expect(Self.cell(xlsx, index + 1, "Field:Note") == .string(person.note))
        }

        let head = try Sheets.head(daemon)
        let again = try Sheets.runImport(daemon, ["path": .string(csvPath), "format": "csv"])
        #expect(again.string("state") == "complete")
        #expect(again.int("updated") == 4)
        #expect(Sheets.errors(again) == [])
        #expect(try Sheets.head(daemon) == head)
        for person in people {
            let contact = try Self.contact(daemon, person.urn)
            #expect(contact.string("name") == person.name)
            #expect(contact["fields"]?["note"]?["text"] == .string(person.note))
        }
    }
}
