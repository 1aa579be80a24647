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
}
