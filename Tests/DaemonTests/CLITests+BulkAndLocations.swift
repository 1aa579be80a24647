// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// The subcommands of the methods only `call` reached before: `contact bulk-modify`, `contact parse-query`,
/// `workspace locations`, `workspace set-locations` and `methods`.
extension CLITests {
    /// A key-value block as the CLI prints it (`key  value` a line): each line's first word and the rest.
    func block(_ output: String) -> [String: String] {
        var pairs: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let key = line.prefix { $0 != " " }
            pairs[String(key)] = line.dropFirst(key.count).trimmingCharacters(in: .whitespaces)
        }
        return pairs
    }

    /// `--json` output parsed.
    func json(_ run: Run) throws -> JSONValue {
        try JSONValue(parsing: Array(run.output.utf8))
    }

    /// `contact bulk-modify QUERY` makes `contact modify`'s changes to every contact the query matches, and
    /// `--uuid` to those listed: read back over the socket, the matched ones changed and no other; it prints
    /// matched and changed, and with `--json` the answer `{matched, changed, seq}`.
    @Test func bulkModifyChangesTheMatchedContacts() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("fields.create", ["key": "tier", "type": "text"])
        let group = try #require(try daemon.call("groups.create", ["name": "Adults"]).string("uuid"))
        var uuids: [String: String] = [:]
        for (name, age) in [("Ada", "15"), ("Ben", "20"), ("Cy", "30")] {
            uuids[name] = try daemon.call("contacts.create", ["name": .string(name), "fields": ["age": .string(age)]]).string("uuid")
        }
        let (ada, ben, cy) = (try #require(uuids["Ada"]), try #require(uuids["Ben"]), try #require(uuids["Cy"]))

        let bulk = try self.run(daemon, ["contact", "bulk-modify", "age >= 18", "--field", "tier=gold", "--add-group", group, "--actor", "ana@example.org"])
        #expect(bulk.status == 0, "\(bulk.error)")
        let shown = self.block(bulk.output)
        #expect(shown["matched"] == "2" && shown["changed"] == "2", "\(bulk.output)")
        #expect(shown["seq"] == String(try ContactKit.head(daemon)), "\(bulk.output)")
        for uuid in [ben, cy] {
            let contact = try ContactKit.get(daemon, uuid)
            #expect(contact["fields"]?["tier"]?.string("text") == "gold", "\(contact)")
            #expect(contact["groups"]?.arrayValue?.compactMap { $0.string("uuid") } == [group], "\(contact)")
            #expect(try ContactKit.history(daemon, uuid).contains { $0.string("actor") == "ana@example.org" })
        }
        let minor = try ContactKit.get(daemon, ada)
        #expect((minor["fields"]?["tier"] ?? .null) == .null && minor["groups"]?.arrayValue?.isEmpty == true, "\(minor)")

        // Again: the same two match, neither changes; the JSON answer is the contract's.
        let again = try self.json(self.run(daemon, ["contact", "bulk-modify", "age >= 18", "--field", "tier=gold", "--json"]))
        var keys: Set<String> = []
        if case .object(let members) = again { keys = Set(members.keys) }
        #expect(keys == ["matched", "changed", "seq"], "\(again)")
        #expect(again.int("matched") == 2 && again.int("changed") == 0, "\(again)")

        // By UUID, and a retry with the same idempotency key answers the first answer without changing more.
        let arguments = ["contact", "bulk-modify", "--uuid", ada, "--uuid", ben, "--name", "Renamed", "--idempotency-key", "k1", "--json"]
        let byUUID = try self.json(self.run(daemon, arguments))
        #expect(byUUID.int("matched") == 2 && byUUID.int("changed") == 2, "\(byUUID)")
        #expect(try ContactKit.get(daemon, ada).string("name") == "Renamed")
        #expect(try ContactKit.get(daemon, cy).string("name") == "Cy")
        let head = try ContactKit.head(daemon)
        #expect(try self.json(self.run(daemon, arguments)) == byUUID)
        #expect(try ContactKit.head(daemon) == head)

        // Refused before any call: no target, both targets, nothing to change (exit status 64).
        for refused in [["contact", "bulk-modify", "--name", "X"], ["contact", "bulk-modify", "", "--uuid", ada, "--name", "X"], ["contact", "bulk-modify", ""]] {
            let run = try self.run(daemon, refused)
            #expect(run.status == 64, "\(refused): \(run.output)")
        }
        // The daemon's refusals: one line with the code, exit status 1, nothing changed.
        let badQuery = try self.run(daemon, ["contact", "bulk-modify", "age >", "--name", "X"])
        #expect(badQuery.status == 1 && badQuery.error.contains("-32004"), "\(badQuery.error)")
        #expect(badQuery.error.split(separator: "\n").count == 1, "\(badQuery.error)")
        let unknownField = try self.run(daemon, ["contact", "bulk-modify", "", "--field", "nope=1"])
        #expect(unknownField.status == 1 && unknownField.error.contains("-32001"), "\(unknownField.error)")
        #expect(try ContactKit.head(daemon) == head)
    }

    /// `contact parse-query QUERY` shows the daemon's inspection of a query (normalized form, fields by key,
    /// groups by name, schemes), `--json` its answer as it is, and a query error as one line with -32004.
    @Test func parseQueryShowsTheInspection() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("groups.create", ["name": "Adults"])
        let query = #"AGE>18 and group = "Adults" and tel ~ 0788"#
        let answer = try daemon.call("contacts.parse_query", ["query": .string(query)])

        let run = try self.run(daemon, ["contact", "parse-query", query])
        #expect(run.status == 0, "\(run.error)")
        let shown = self.block(run.output)
        #expect(shown["query"] == answer.string("query"), "\(run.output)")
        #expect(shown["query"]?.contains("age > 18") == true, "\(run.output)")
        #expect(shown["fields"] == "age" && shown["groups"] == "Adults" && shown["schemes"] == "tel", "\(run.output)")
        #expect(shown["allow_as_group"] == (answer["allow_as_group"] == .bool(true) ? "true" : "false"), "\(run.output)")
        #expect(try self.json(self.run(daemon, ["contact", "parse-query", query, "--json"])) == answer)

        let broken = try self.run(daemon, ["contact", "parse-query", "age >"])
        #expect(broken.status == 1 && broken.error.contains("-32004") && broken.error.contains("position"), "\(broken.error)")
        #expect(broken.error.split(separator: "\n").count == 1, "\(broken.error)")
        #expect(try self.run(daemon, ["contact", "parse-query"]).status == 64)
    }

    /// `workspace set-locations FILE` sends the tree in a file (or stdin) and `workspace locations` shows it
    /// as an indented tree; `locations --json` reads back with `set-locations`, in another workspace too.
    @Test func setLocationsFromAFileAndShowThem() throws {
        let daemon = try DaemonHarness()
        let empty = try self.run(daemon, ["workspace", "locations"])
        #expect(empty.status == 0 && empty.output.contains("(no locations set)"), "\(empty.output)")
        #expect(try self.json(self.run(daemon, ["workspace", "locations", "--json"])) == ["hierarchy": .null])

        let file = daemon.directory + "-rwanda.json"
        let exported = daemon.directory + "-exported.json"
        defer { for path in [file, exported] { try? FileManager.default.removeItem(atPath: path) } }
        try JSONEncoder().encode(ContactKit.rwanda).write(to: URL(fileURLWithPath: file))
        let set = try self.run(daemon, ["workspace", "set-locations", file])
        #expect(set.status == 0, "\(set.error)")
        let summary = self.block(set.output)
        #expect(summary["country"] == "Rwanda" && summary["states"] == "2" && summary["districts"] == "3" && summary["wards"] == "5", "\(set.output)")
        #expect(summary["seq"] == String(try ContactKit.head(daemon)), "\(set.output)")
        let stored = try #require(try daemon.call("workspace.locations")["hierarchy"])
        #expect(stored["children"]?.arrayValue?.compactMap { $0.string("name") } == ["Kigali City", "Eastern Province"], "\(stored)")

        let tree = try self.run(daemon, ["workspace", "locations"])
        #expect(tree.status == 0, "\(tree.error)")
        let lines = tree.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(Array(lines.prefix(5)) == ["Rwanda", "  Kigali City  (also Kigali)", "    Gasabo", "      Kimironko", "      Remera"], "\(tree.output)")
        #expect(lines.contains("states: 2   districts: 3   wards: 5"), "\(tree.output)")

        // `locations --json` as it is, on stdin, into another workspace.
        let json = try self.run(daemon, ["workspace", "locations", "--json"])
        try json.output.write(toFile: exported, atomically: true, encoding: .utf8)
        let copied = try self.run(daemon, ["--workspace", "other", "workspace", "set-locations", "-", "--json"], input: exported)
        #expect(copied.status == 0, "\(copied.error)")
        #expect(try self.json(copied).int("seq") == (try ContactKit.head(daemon)))
        #expect(try daemon.call("workspace.locations", ["workspace": "other"])["hierarchy"] == stored)

        // Refusals: no file, not JSON, nothing on stdin (64, before any call); a tree the daemon refuses (1).
        let missing = try self.run(daemon, ["workspace", "set-locations", file + ".missing"])
        #expect(missing.status == 64 && missing.error.contains("Cannot read"), "\(missing.error)")
        #expect(missing.error.split(separator: "\n").count == 1, "\(missing.error)")
        try "{\"name\": ".write(toFile: exported, atomically: true, encoding: .utf8)
        let invalid = try self.run(daemon, ["workspace", "set-locations", exported])
        #expect(invalid.status == 64 && invalid.error.contains("Not valid JSON"), "\(invalid.error)")
        let nothing = try self.run(daemon, ["workspace", "set-locations", "-"], input: "/dev/null")
        #expect(nothing.status == 64 && nothing.error.contains("stdin"), "\(nothing.error)")
        try #"{"name": "Rwanda", "capital": "Kigali"}"#.write(toFile: exported, atomically: true, encoding: .utf8)
        let refused = try self.run(daemon, ["workspace", "set-locations", exported])
        #expect(refused.status == 1 && refused.error.contains("-32602") && refused.error.contains("hierarchy.capital"), "\(refused.error)")
        #expect(try daemon.call("workspace.locations")["hierarchy"] == stored)
    }

    /// `methods` lists what `system.methods` answers, one a line, or the answer with `--json`; the completion
    /// scripts offer the new subcommands.
    @Test func methodsListsWhatTheDaemonServes() throws {
        let daemon = try DaemonHarness()
        let served = try #require(try daemon.call("system.methods")["methods"]?.arrayValue).compactMap(\.stringValue)
        let run = try self.run(daemon, ["methods"])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.split(separator: "\n").map(String.init) == served)
        #expect(served.contains("contacts.bulk_modify") && served.contains("workspace.set_locations"))
        #expect(try self.json(self.run(daemon, ["methods", "--json"])) == ["methods": .array(served.map(JSONValue.string))])
        #expect(try self.run(daemon, ["methods", "extra"]).status == 64)

        for shell in ["bash", "zsh", "fish"] {
            let script = try self.run(daemon, ["completion", shell])
            #expect(script.status == 0)
            for name in ["bulk-modify", "parse-query", "set-locations", "locations", "methods"] {
                #expect(script.output.contains(name), "\(shell) completion lacks \(name)")
            }
        }
    }
}
