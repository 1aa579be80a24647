// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// SIGTERM while long work runs: a command running is answered, and work of many commands (imports,
/// smart groups' evaluations) ends between its commands, as a kill would end it, and goes on or is
/// reported at the next start.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ShutdownWorkTests {
    /// A CSV of `count` new contacts.
    static func csv(rows count: Int, prefix: String) -> JSONValue {
        let rows = (0..<count).map { "\(prefix)\($0),ext:\(prefix)\($0)" }
        let text = "Name,URN:ext\n" + rows.joined(separator: "\n") + "\n"
        return ["content_base64": .string(Data(text.utf8).base64EncodedString()), "format": "csv"]
    }

    /// An import running with a smart group being evaluated: the stop waited for the whole evaluation,
    /// and the import's batches kept being taken meanwhile, so a 40,000-row import ran to its end 47 s
    /// past SIGTERM (this stop's crash audit). Both now end between their commands: the import is
    /// reported interrupted, and the evaluation goes on at the next start.
    @Test func sigtermEndsAnImportAndASmartGroupsEvaluationBetweenTheirCommands() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 6_000)
        let started = try daemon.call("imports.start", Self.csv(rows: 25_000, prefix: "imported"))
        let importID = try #require(started.string("import"))
        let deadline = Date().addingTimeInterval(60)
        while (try daemon.call("imports.status", ["import": .string(importID)]).int("rows_done") ?? 0) == 0, Date() < deadline { usleep(20_000) }
        let group = try #require(try daemon.call("groups.create", ["name": "Ps", "query": "name ~ p1"]).string("uuid"))
        usleep(300_000)

        let stopping = Date()
        #expect(daemon.stop() == 0)
        let took = Date().timeIntervalSince(stopping)
        #expect(took < 10, "the stop took \(took) s:\n\(daemon.log().suffix(3_000))")

        try daemon.start()
        let status = try daemon.call("imports.status", ["import": .string(importID)])
        #expect(status.string("state") == "failed", "\(status)")
        #expect(status["failure"]?.string("reason") == "interrupted", "\(status)")
        #expect((status.int("rows_done") ?? 0) < 25_000)
        let ready = try QueryAndGroupTests.waitUntilReady(daemon, group)
        #expect(ready.int("count") == (try daemon.call("contacts.count", ["query": "name ~ p1"]).int("total")))
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// SIGTERM mid-export: each export stops between two rows and removes its temporary files (the XLSX's
    /// worksheet part, the CSV) before the daemon exits, and is stored `failed` (`interrupted`) with the
    /// rows it had done. The process ended under the exports, which left both files, every row written so
    /// far in them, and nothing ever removed them.
    @Test func sigtermStopsAnExportAndRemovesItsTemporaryFiles() throws {
        let daemon = try DaemonHarness()
        let directory = daemon.directory + "-stopped"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ids = try ImportExportTests.exportsInFlight(daemon, count: 20_000, directory: directory)
        #expect(daemon.stop() == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])
        try daemon.start()
        for id in ids {
            let status = try daemon.call("exports.status", ["export": .string(id)])
            #expect(status.string("state") == "failed", "\(status)")
            #expect(status["failure"]?.string("reason") == "interrupted", "\(status)")
            #expect((status.int("rows_done") ?? 0) > 0, "the progress at the stop is kept: \(status)")
            #expect(status.int("rows_total") == 20_000, "\(status)")
        }
    }

    /// A command that runs for seconds when SIGTERM comes is answered before its connection closes: a
    /// bulk modification of 20,000 contacts was committed after the drain had closed its connection,
    /// so its client could not tell whether it ran.
    @Test func aCommandRunningAtSIGTERMIsAnswered() async throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 20_000)
        try daemon.call("fields.create", ["key": "tag", "name": "Tag", "type": "text"])
        let client = try daemon.client()
        let call: JSONValue = [
            "jsonrpc": "2.0", "id": 1, "method": "contacts.bulk_modify",
            "params": ["query": "", "modifiers": [["type": "field", "field": "tag", "value": "B1"]], "idempotency_key": "b1"],
        ]
        try client.send(raw: JSONLine.encode(call) + [10])
        usleep(300_000)
        let stopping = Task.detached { daemon.stop() }
        let answer = try client.readValue()
        #expect(await stopping.value == 0)
        try daemon.start()
        let tagged = try daemon.call("contacts.count", ["query": "tag = B1"]).int("total")
        if let result = answer["result"] {
            #expect(result.int("changed") == 20_000)
            #expect(tagged == 20_000)
        } else {
            // Refused before it ran: nothing of it was written.
            #expect(answer["error"]?.int("code") == -32005, "\(answer)")
            #expect(tagged == 0)
        }
    }

    /// A verification running at SIGTERM stops with the daemon (-32005 shutting_down) rather than hold the
    /// stop for its whole scratch rebuild (once running calls were waited for, it held the stop until
    /// done: minutes on a long log).
    @Test func aVerificationRunningAtSIGTERMStopsWithIt() async throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 40_000)
        let client = try daemon.client()
        try client.send(raw: JSONLine.encode(["jsonrpc": "2.0", "id": 1, "method": "projections.verify", "params": ["name": "contacts"]] as JSONValue) + [10])
        usleep(500_000)
        let stopping = Date()
        let stopped = Task.detached { daemon.stop() }
        let answer = try client.readValue()
        #expect(await stopped.value == 0)
        let took = Date().timeIntervalSince(stopping)
        #expect(answer["error"]?.int("code") == -32005, "\(answer)")
        #expect(answer["error"]?["data"]?.string("reason") == "shutting_down", "\(answer)")
        #expect(took < 3.5, "the stop took \(took) s")
    }
}
