// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// Commands that follow a long job until it is done: `projections rebuild`'s progress bar and its end.
extension CLITests {
    /// The bars of a `projections rebuild` run on a terminal `columns` wide (`stty cols`; nil: the size a
    /// pseudo-terminal is given by `script`, none), each as drawn (without `\r` and the erase to the end);
    /// the log holds 8,000 events.
    func rebuildBars(_ daemon: DaemonHarness, columns: Int?) throws -> [String] {
        let size = columns.map { "stty cols \($0) rows 24; " } ?? ""
        let run = try self.run(
            daemon, ["-qec", "\(size)\(Self.cli.path) projections rebuild contacts", "/dev/null"], executable: URL(fileURLWithPath: "/usr/bin/script")
        )
        #expect(run.status == 0, "\(run.output) \(run.error)")
        // "\r\n" (a newline, as the terminal writes it) is one Character: made "\n" first, so that each "\r"
        // starts a redraw, which ends at the erase or a newline.
        let redraws = run.output.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\r")
        return redraws.map { $0.prefix { $0 != "\n" }.replacingOccurrences(of: "\u{1B}[K", with: "") }.filter { $0.contains("/8000") }
    }

    /// The rebuild's progress bar fits the terminal, one column short of its width (80 when it does not
    /// say), the bar trimmed first: it was 83 to 88 columns whatever the width, so on an 80-column
    /// terminal each redraw wrapped and left a new line.
    @Test func theRebuildBarFitsTheTerminal() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 8_000)
        let narrow = try self.rebuildBars(daemon, columns: 64)
        #expect(!narrow.isEmpty)
        #expect(narrow.allSatisfy { $0.count <= 63 && ($0.contains("█") || $0.contains("░")) && $0.contains("/8000") }, "\(narrow)")
        let unsized = try self.rebuildBars(daemon, columns: nil)
        #expect(!unsized.isEmpty)
        #expect(unsized.allSatisfy { $0.count <= 79 }, "\(unsized)")
        // With no room for a bar, the text alone, cut.
        let tiny = try self.rebuildBars(daemon, columns: 30)
        #expect(tiny.allSatisfy { $0.count <= 29 && !$0.contains("█") && !$0.contains("░") }, "\(tiny)")
    }

    /// `projections rebuild NAME --json` follows the rebuild until it is done, as without `--json`, and
    /// prints the final `projections.status`: it printed the start's answer ("rebuilding") and returned
    /// at once, so a script went on while the rebuild ran. `--detach` still returns at once.
    @Test func rebuildWithJSONFollowsToTheEnd() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 8_000)
        let run = try self.run(daemon, ["projections", "rebuild", "contacts", "--json"])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.error.isEmpty, "\(run.error)")
        let final = try JSONValue(parsing: Array(run.output.utf8))
        let contacts = final["projections"]?.arrayValue?.first { $0.string("name") == "contacts" }
        #expect(contacts?.string("state") == "ready", "\(run.output)")
        #expect(contacts?.int("position") == 8_000, "\(run.output)")
        let detached = try self.run(daemon, ["projections", "rebuild", "contacts", "--json", "--detach"])
        #expect(try JSONValue(parsing: Array(detached.output.utf8)).string("state") == "rebuilding", "\(detached.output)")
    }

    /// A daemon stopped (SIGTERM) while `import FILE` follows the import: besides the error, the CLI says
    /// which import it was and how to see it again. It printed only `-32005 … shutting_down`, and the
    /// import (stored failed, interrupted, with the rows written) could not be looked up by its id.
    @Test func anImportCutShortByAStopSaysItsID() throws {
        let daemon = try DaemonHarness()
        let file = daemon.directory + "-import.csv"
        let rows = (0..<25_000).map { "p\($0),ext:p\($0)" }
        try ("Name,URN:ext\n" + rows.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        // In another workspace than the default: the status command it prints must name it (recheck finding).
        let (cli, output, error) = try self.start(daemon, ["import", file, "--workspace", "w2"])
        defer { if cli.isRunning { cli.terminate() } }
        let id = try self.loggedID(daemon, "import started", key: "import.id")
        let deadline = Date().addingTimeInterval(60)
        while (try daemon.call("imports.status", ["import": .string(id), "workspace": "w2"]).int("rows_done") ?? 0) == 0, Date() < deadline {
            usleep(20_000)
        }
        #expect(daemon.stop() == 0)
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        cli.waitUntilExit()
        #expect(cli.terminationStatus != 0, "\(printed) \(message)")
        #expect(message.contains("-32005") || message.contains("contactledgerd"), "\(message)")
        // Unless the CLI's poll came in between the import's end and the daemon's: then it printed the import.
        let shownFailed = printed.contains(id) && printed.contains("failed")
        #expect(message.contains("`contactledger import status \(id) --workspace w2`") || shownFailed, "\(printed) \(message)")
    }

    /// The id the daemon logs under `key` (`import.id`) once it logs `message`.
    func loggedID(_ daemon: DaemonHarness, _ message: String, key: String) throws -> String {
        daemon.waitForLog(message)
        let log = daemon.log()
        let start = try #require(log.range(of: key + "="))
        let id = String(log[start.upperBound...].drop { $0 == "\"" }.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(!id.isEmpty, "\(log)")
        return id
    }

    /// `export OUT` cut short by a daemon stop names the export and the command that shows it, as `import`
    /// does: it printed only the daemon's error (recheck of stop 52).
    @Test func anExportCutShortByAStopSaysItsID() throws {
        let daemon = try DaemonHarness()
        try daemon.call("contacts.create", ["workspace": "w2", "name": "First"])
        let client = try daemon.client()
        for offset in stride(from: 0, to: 20_000, by: 500) {
            let batch: [JSONValue] = (offset..<offset + 500).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create", "params": ["workspace": "w2", "name": .string("p\(index)")]]
            }
            try client.send(raw: JSONLine.encode(JSONValue.array(batch)) + [10])
            _ = try client.readValue()
        }
        let file = daemon.directory + "-export.csv"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (cli, output, error) = try self.start(daemon, ["export", file, "--workspace", "w2"])
        defer { if cli.isRunning { cli.terminate() } }
        let id = try self.loggedID(daemon, "export started", key: "export.id")
        #expect(daemon.stop() == 0)
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        cli.waitUntilExit()
        // Unless the CLI's poll came in between the export's end and the daemon's: then it printed the export.
        let shownEnded = printed.contains(id) && (printed.contains("failed") || printed.contains("complete"))
        #expect(message.contains("`contactledger export status \(id) --workspace w2`") || shownEnded, "\(printed) \(message)")
        if !shownEnded { #expect(cli.terminationStatus != 0, "\(printed) \(message)") }
    }
}
