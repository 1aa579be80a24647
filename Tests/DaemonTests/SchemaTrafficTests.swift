// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// Real daemon traffic validated against the JSON Schemas in `Schemas/` by `Tools/schema_check.py`.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct SchemaTrafficTests {
    /// Records each call's method, params and result (or error) as one JSON line.
    final class Recorder {
        let daemon: DaemonHarness
        var lines: [JSONValue] = []
        init(daemon: DaemonHarness) { self.daemon = daemon }

        @discardableResult
        func call(_ method: String, _ params: JSONValue = [:]) throws -> JSONValue {
            do {
                let result = try self.daemon.call(method, params)
                self.lines.append(["method": .string(method), "params": params, "result": result])
                return result
            } catch let error as RPCError {
                let encoded = try JSONLine.encode(error)
                let value = try JSONDecoder().decode(JSONValue.self, from: Data(encoded))
                self.lines.append(["method": .string(method), "params": params, "error": value])
                return .null
            }
        }
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func realTrafficMatchesTheSchemas() throws {
        let daemon = try DaemonHarness()
        let recorder = Recorder(daemon: daemon)
        try recorder.call("system.health")
        try recorder.call("workspace.configure", ["default_country": "RW", "timezone": "Africa/Kigali", "date_format": "DD-MM-YYYY"])
        try recorder.call("workspace.get")
        try recorder.call("workspace.set_locations", ["hierarchy": ["name": "Rwanda", "children": [["name": "Kigali City", "aliases": ["Kigali"], "children": [["name": "Gasabo"]]]]]])
        try recorder.call("workspace.locations")
        try recorder.call("fields.create", ["key": "age", "type": "number"])
        try recorder.call("fields.create", ["key": "joined", "name": "Joined", "type": "datetime"])
        try recorder.call("fields.create", ["key": "home", "type": "state"])
        try recorder.call("fields.update", ["key": "age", "featured": true, "priority": 2])
        try recorder.call("fields.list")
        let group = try recorder.call("groups.create", ["name": "Customers"])
        let smart = try recorder.call("groups.create", ["name": "Adults", "query": "age >= 18"])
        let contact = try recorder.call("contacts.create", [
            "name": "Ben Haggerty", "language": "eng", "urns": ["tel:0788 123 123", "whatsapp:250788123123"],
            "fields": ["age": "23", "joined": "02-01-2026 10:30", "home": "kigali"], "groups": [group["uuid"] ?? .null],
        ])
        let uuid = contact["uuid"] ?? .null
        try recorder.call("contacts.get", ["uuid": uuid])
        try recorder.call("contacts.get", ["urn": "tel:+250788123123"])
        try recorder.call("contacts.modify", ["uuid": uuid, "modifiers": [
            ["type": "name", "name": "Ben H"], ["type": "language", "language": "fra"], ["type": "field", "field": "age", "value": "24"],
            ["type": "urns", "action": "append", "urns": ["telegram:1234"]], ["type": "status", "status": "active"],
        ]])
        try recorder.call("contacts.modify", ["uuid": uuid, "modifiers": [["type": "field", "field": "age", "value": "x"]], "expected_version": 1])
        try recorder.call("contacts.bulk_modify", ["uuids": [uuid], "modifiers": [["type": "name", "name": "Ben"]]])
        try recorder.call("messages.receive", ["urn": "tel:+250788123123", "text": "hello", "channel": "sms"])
        try recorder.call("messages.receive", ["urn": "tel:+250788999999", "text": "new here"])
        try recorder.call("messages.send", ["uuid": uuid, "text": "hi Ben"])
        try recorder.call("contacts.messages", ["uuid": uuid])
        try recorder.call("contacts.history", ["uuid": uuid, "limit": 5])
        try recorder.call("contacts.as_of", ["uuid": uuid, "at": ["seq": 12]])
        try recorder.call("contacts.diff", ["uuid": uuid, "from": ["seq": 1], "to": ["seq": 30]])
        try recorder.call("contacts.search", ["query": "age > 18", "sort": "-created_on"])
        try recorder.call("contacts.count", ["query": "age > 18"])
        try recorder.call("contacts.parse_query", ["query": "age > 18 AND name ~ ben"])
        try recorder.call("contacts.search", ["query": "age >> 18"])
        try recorder.call("groups.list")
        try recorder.call("groups.members", ["uuid": smart["uuid"] ?? .null])
        try recorder.call("groups.update", ["uuid": group["uuid"] ?? .null, "name": "Clients"])
        try recorder.call("fields.usage", ["key": "age"])
        try recorder.call("contacts.modify", ["uuid": uuid, "modifiers": [["type": "status", "status": "archived"]]])
        try recorder.call("messages.send", ["uuid": uuid, "text": "refused"])
        try recorder.call("contacts.delete", ["uuid": uuid])
        try recorder.call("contacts.get", ["uuid": uuid])
        try recorder.call("groups.delete", ["uuid": group["uuid"] ?? .null])
        try recorder.call("events.read", ["limit": 100])
        try recorder.call("events.read", ["limit": 2, "cursor": "2"])
        try recorder.call("contacts.search", ["query": "", "sort": "", "as_of": "2026-01-01"])
        // An optional param sent as null is taken as absent (a client paging with `cursor: next_cursor`
        // from the first page on), and "" clears the default country as null does.
        let firstPage = try recorder.call("contacts.search", ["query": "", "cursor": .null, "limit": .null, "workspace": .null, "sort": .null])
        #expect(firstPage["contacts"]?.arrayValue != nil, "\(firstPage)")
        try recorder.call("events.read", ["after_seq": .null, "cursor": .null, "actor": .null])
        // Names and URNs the daemon takes, at the edges of white space: the schemas take them too.
        try recorder.call("groups.create", ["name": "\u{200B}Zero width"])
        try recorder.call("groups.create", ["name": "\u{FEFF}Byte order"])
        try recorder.call("contacts.create", ["urns": ["ext:\u{FEFF}", "ext:line\nbreak"]])
        // One of two params given and the other null: the schemas' "one of" counted the null one as given.
        let someone = try recorder.call("contacts.create", ["name": "Null Params"])
        try recorder.call("contacts.get", ["uuid": someone["uuid"] ?? .null, "urn": .null])
        // A message with no route: recorded with its unsendable reason, in the answer and the event.
        let unsendable = try recorder.call("messages.send", ["uuid": someone["uuid"] ?? .null, "text": "no route"])
        #expect(unsendable["message"]?.string("unsendable_reason") == "no_route", "\(unsendable)")
        try recorder.call("contacts.messages", ["uuid": someone["uuid"] ?? .null])
        try recorder.call("contacts.bulk_modify", ["query": .null, "uuids": [someone["uuid"] ?? .null], "modifiers": [["type": "name", "name": "N"]]])
        try recorder.call("contacts.bulk_modify", ["query": "name = N", "uuids": .null, "modifiers": [["type": "name", "name": "M"]]])
        try recorder.call("imports.start", ["content_base64": "TmFtZQpBCg==", "format": "csv", "path": .null])
        let exportPath = NSTemporaryDirectory() + "null-params-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: exportPath) }
        let exported = try recorder.call("exports.start", ["format": "csv", "path": .string(exportPath), "group": .null, "query": .null])
        #expect(exported.string("export") != nil, "\(exported)")
        // Every optional member null changes nothing: a null country cleared it (contract audit); "" does.
        try recorder.call("workspace.configure", ["default_country": "RW"])
        let unchanged = try recorder.call("workspace.configure", ["default_country": .null, "timezone": .null, "date_format": .null, "anonymous": .null])
        #expect(unchanged["default_country"] == "RW", "\(unchanged)")
        try recorder.call("workspace.configure", ["default_country": "", "idempotency_key": .null])
        #expect(try recorder.call("workspace.get")["default_country"] == .null)
        // A location's optional members sent as null: the answer is the tree as stored, as
        // workspace.locations shows it, not the request echoed with its nulls (contract audit).
        let located = try recorder.call("workspace.set_locations", ["hierarchy": ["name": "Rwanda", "aliases": .null, "children": [["name": "East", "aliases": .null, "children": .null]]]])
        #expect(located["hierarchy"] == ["name": "Rwanda", "children": [["name": "East"]]], "\(located)")
        #expect(try recorder.call("workspace.locations")["hierarchy"] == located["hierarchy"])
        try recorder.call("ledger.verify")
        try recorder.call("system.stats")
        try recorder.call("projections.status")

        var lines = recorder.lines
        for event in try daemon.call("events.read", ["limit": 1000])["items"]?.arrayValue ?? [] {
            lines.append(["event": event])
        }
        try Self.check(lines, beside: daemon)
    }

    /// The `replication` member of a primary's and a replica's status (absent from the schemas before).
    @Test(.enabled(if: NATSServerProcess.isAvailable))
    func replicationStatusMatchesTheSchemas() throws {
        let nats = try NATSServerProcess()
        let primary = Recorder(daemon: try DaemonHarness(arguments: ["--replicate", nats.url]))
        let replica = Recorder(daemon: try DaemonHarness(arguments: ["--follow", nats.url]))
        try primary.call("contacts.create", ["name": "Replicated"])
        let deadline = Date().addingTimeInterval(30)
        while try replica.daemon.call("system.health").int("head_seq") != 1, Date() < deadline { usleep(50_000) }
        for recorder in [primary, replica] {
            #expect(try recorder.call("system.stats")["replication"]?.string("state") != nil)
            try recorder.call("projections.status")
        }
        try Self.check(primary.lines + replica.lines, beside: primary.daemon)
    }

    /// Validates recorded lines with `Tools/schema_check.py` (a file beside `daemon`'s directory).
    static func check(_ lines: [JSONValue], beside daemon: DaemonHarness) throws {
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
