// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// Subcommands and arguments: what the CLI offers and how it refuses what it cannot take.
extension CLITests {
    /// `import status ID` and `export status ID` show an import or export again, as a block or with
    /// `--json` as `imports.status` / `exports.status` answers: their ids could be looked up only with
    /// `call`. `import FILE` and `export OUT` still start one.
    @Test func importAndExportStatusByID() throws {
        let daemon = try DaemonHarness()
        let input = daemon.directory + "-people.csv"
        let output = daemon.directory + "-people-out.csv"
        defer { for path in [input, output] { try? FileManager.default.removeItem(atPath: path) } }
        try "Name,URN:tel\nAda,+250788000001\nBen,+250788000002\n".write(toFile: input, atomically: true, encoding: .utf8)

        let imported = try self.run(daemon, ["import", input, "--upload", "--json"])
        #expect(imported.status == 0, "\(imported.error)")
        let id = try #require(try JSONValue(parsing: Array(imported.output.utf8)).string("import"))
        let importStatus = try self.run(daemon, ["import", "status", id])
        #expect(importStatus.status == 0, "\(importStatus.error)")
        #expect(importStatus.output.contains(id) && importStatus.output.contains("complete") && importStatus.output.contains("2 of 2"), "\(importStatus.output)")
        let importJSON = try JSONValue(parsing: Array(try self.run(daemon, ["import", "status", id, "--json"]).output.utf8))
        #expect(importJSON.string("import") == id && importJSON.string("state") == "complete" && importJSON.int("created") == 2, "\(importJSON)")

        let exported = try self.run(daemon, ["export", output, "--json"])
        #expect(exported.status == 0, "\(exported.error)")
        let exportID = try #require(try JSONValue(parsing: Array(exported.output.utf8)).string("export"))
        let exportStatus = try self.run(daemon, ["export", "status", exportID])
        #expect(exportStatus.status == 0, "\(exportStatus.error)")
        #expect(exportStatus.output.contains(exportID) && exportStatus.output.contains("complete") && exportStatus.output.contains(output), "\(exportStatus.output)")
        let exportJSON = try JSONValue(parsing: Array(try self.run(daemon, ["export", "status", exportID, "--json"]).output.utf8))
        #expect(exportJSON.string("export") == exportID && exportJSON.string("state") == "complete" && exportJSON.string("path") == output, "\(exportJSON)")

        // `--idempotency-key`, which every writing command takes, import and export take too (CLI audit: an
        // interrupted import's message speaks of keys the command could not send): a retry is the first job.
        let keyed = try self.run(daemon, ["import", input, "--upload", "--json", "--idempotency-key", "people-1"])
        let again = try self.run(daemon, ["import", input, "--upload", "--json", "--idempotency-key", "people-1"])
        let keyedID = try JSONValue(parsing: Array(keyed.output.utf8)).string("import")
        #expect(keyed.status == 0 && keyedID != nil && keyedID != id, "\(keyed.error)")
        #expect(try JSONValue(parsing: Array(again.output.utf8)).string("import") == keyedID, "\(again.output)")
        let keyedExport = try self.run(daemon, ["export", output + "2.csv", "--json", "--idempotency-key", "out-1"])
        let exportAgain = try self.run(daemon, ["export", output + "2.csv", "--json", "--idempotency-key", "out-1"])
        defer { try? FileManager.default.removeItem(atPath: output + "2.csv") }
        #expect(keyedExport.status == 0, "\(keyedExport.error)")
        #expect(try JSONValue(parsing: Array(exportAgain.output.utf8)).string("export") == JSONValue(parsing: Array(keyedExport.output.utf8)).string("export"))

        // An unknown id is the daemon's error, one line.
        let unknown = try self.run(daemon, ["import", "status", "no-such-import"])
        #expect(unknown.status == 1 && unknown.error.split(separator: "\n").count == 1, "\(unknown.error)")
    }

    /// Small refusals say what is wrong in one line: `--after -5` that a seq is 0 or more (it said
    /// "Missing value for '--after <seq>'"), and `call METHOD -` with nothing on stdin that the params are
    /// missing (it printed the top-level usage). The top-level help lists exit status 3 for `projections
    /// verify` too.
    @Test func smallRefusalsSayWhatIsWrong() throws {
        let daemon = try DaemonHarness()
        for command in [["tail", "--after", "-5"], ["events", "read", "--after", "-5"]] {
            let run = try self.run(daemon, command)
            #expect(run.status == 64, "\(command)")
            #expect(run.error.contains("--after must be 0 or more") && run.error.contains("-5"), "\(run.error)")
        }
        let empty = try self.run(daemon, ["call", "system.health", "-"], input: "/dev/null")
        #expect(empty.status == 64)
        #expect(empty.error.split(separator: "\n").count == 1, "\(empty.error)")
        #expect(empty.error.contains("stdin") && !empty.error.contains("Usage"), "\(empty.error)")

        let help = try self.run(daemon, ["--help"])
        let three = help.output.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("3 ") }
        #expect(three?.contains("projections verify") == true, "\(help.output)")
    }

    /// `audit --limit` is the paged lists' option: out of 1–1000 it is refused by the CLI (exit status 64,
    /// the same sentence as `search`'s), where it reached the daemon (-32602 for 0, -32006 for 1001, exit
    /// status 1); its help says `<n>` as theirs does.
    @Test func auditLimitIsCheckedAsTheOtherLimits() throws {
        let daemon = try DaemonHarness()
        for index in 0..<3 { try daemon.call("contacts.create", ["name": .string("a\(index)")]) }
        for limit in ["0", "1001"] {
            let audit = try self.run(daemon, ["audit", "--limit", limit])
            let search = try self.run(daemon, ["search", "", "--limit", limit])
            #expect(audit.status == 64, "\(audit.error)")
            #expect(audit.error.contains("--limit \(limit) is out of range; give a number from 1 to 1000."), "\(audit.error)")
            #expect(audit.error.split(separator: "\n").first == search.error.split(separator: "\n").first, "\(audit.error)")
        }
        let page = try JSONValue(parsing: Array(try self.run(daemon, ["audit", "--limit", "2", "--json"]).output.utf8))
        #expect(page["items"]?.arrayValue?.count == 2, "\(page)")
        let next = try #require(page.string("next_cursor"))
        let rest = try JSONValue(parsing: Array(try self.run(daemon, ["audit", "--limit", "2", "--cursor", next, "--json"]).output.utf8))
        #expect(rest["items"]?.arrayValue?.count == 1, "\(rest)")
        let help = try self.run(daemon, ["audit", "--help"]).output
        #expect(help.contains("--limit <n>") && !help.contains("--limit <limit>"), "\(help)")
    }

    /// A negative number given to a numeric option is refused for what it is (exit status 64, a line
    /// naming the option), as `events read --after -5` is: ArgumentParser took `-1` for an option and said
    /// "Missing value for '--as-of <at>'".
    @Test func negativeNumbersAreRefusedForWhatTheyAre() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["name": "N"]).string("uuid"))
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let cases: [([String], String)] = [
            (["search", "", "--as-of", "-1"], "The value '-1' is invalid for '--as-of <at>'"),
            (["contact", "history", uuid, "--before", "-1"], "The value '-1' is invalid for '--before <at>'"),
            (["audit", "--uid", "-1"], "--uid must be a user id, 0 or more, not -1."),
            (["audit", "--since", "-1"], "'-1' is not a point: a seq is 0 or more."),
            (["health", "--timeout", "-1"], "--timeout needs a number of seconds above 0"),
            (["search", "", "--limit", "-1"], "--limit -1 is out of range"),
            (["contact", "modify", uuid, "--name", "M", "--expected-version", "-1"], "--expected-version -1 is negative"),
            (["verify", "--from", "-1"], "--from -1 is not a seq"),
            (["field", "update", "age", "--priority", "-1"], "--priority must be 0 or more"),
        ]
        for (command, said) in cases {
            let run = try self.run(daemon, command)
            #expect(run.status == 64, "\(command): \(run.error)")
            #expect(run.error.contains(said) && !run.error.contains("Missing value"), "\(command): \(run.error)")
        }
        // The same options still take their values, and a missing one is still missing.
        #expect(try self.run(daemon, ["search", "", "--as-of", "1", "--timeout", "5", "--limit", "2"]).status == 0)
        #expect(try self.run(daemon, ["search", "", "--as-of"]).error.contains("Missing value"))
    }

    /// A value that starts with one `-` is refused before anything runs, in one line naming it and saying
    /// where it goes (exit status 64): ArgumentParser read `-hi` as the short flags `-h -i` and printed the
    /// help with exit status 0, doing nothing (`send UUID -hi`, `group create -health`), and said "Missing
    /// expected argument" for one without an `h` or a negative seq (`contact as-of UUID -1`). After `--`, or
    /// as `--name=-hi`, the value is taken; `-h` alone is still the help.
    @Test func aValueThatStartsWithADashSaysWhereItGoes() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["name": "D", "urns": ["tel:+250788555555"]]).string("uuid"))
        let head = try daemon.call("system.health").int("head_seq")
        let refused: [([String], String)] = [
            (["send", uuid, "-hi"], "-hi"),
            (["receive", "tel:+250788555555", "-ah"], "-ah"),
            (["group", "create", "-health"], "-health"),
            (["field", "create", "-height", "--type", "number"], "-height"),
            (["count", "-h1"], "-h1"),
            (["group", "create", "-xyz"], "-xyz"),
            (["contact", "as-of", uuid, "-1"], "-1"),
            (["contact", "create", "--name", "-1.5"], "-1.5"),
            // One character after the dash, too (CLI recheck: "Missing expected argument" for `-x`, `-)`).
            (["send", uuid, "-x"], "-x"), (["send", uuid, "-)"], "-)"), (["group", "create", "-é"], "-é"),
        ]
        for (command, value) in refused {
            let run = try self.run(daemon, command)
            #expect(run.status == 64, "\(command): \(run.output)")
            #expect(run.output.isEmpty, "\(command): \(run.output)")
            #expect(run.error.hasPrefix("Error: '\(value)' is not an option"), "\(command): \(run.error)")
            #expect(run.error.contains("-- \(value)") && run.error.contains("=\(value)"), "\(command): \(run.error)")
            #expect(!run.error.contains("Missing expected argument"), "\(command): \(run.error)")
        }
        #expect(try daemon.call("system.health").int("head_seq") == head)

        // After `--`, or joined to its option, the value is taken as it is.
        let sent = try self.run(daemon, ["send", uuid, "--json", "--", "-hi"])
        #expect(try JSONValue(parsing: Array(sent.output.utf8))["message"]?.string("text") == "-hi", "\(sent.output) \(sent.error)")
        #expect(try self.run(daemon, ["group", "create", "--json", "--", "-health"]).output.contains("\"-health\""))
        let named = try self.run(daemon, ["contact", "create", "--name=-hi", "--json"])
        #expect(try JSONValue(parsing: Array(named.output.utf8)).string("name") == "-hi", "\(named.error)")
        // A negative seq after `--` gets the point's own refusal.
        let negative = try self.run(daemon, ["contact", "as-of", uuid, "--", "-1"])
        #expect(negative.status == 64 && negative.error.contains("The value '-1' is invalid for '<at>'"), "\(negative.error)")
        // `-h` alone is the help; an option that takes a value starting with '-' still takes it.
        let help = try self.run(daemon, ["count", "-h"])
        #expect(help.status == 0 && help.output.contains("USAGE"), "\(help.output)")
        #expect(try self.run(daemon, ["search", "", "--sort", "-name"]).status == 0)
        #expect(try self.run(daemon, ["contact", "history", uuid, "--after", "-1"]).error.contains("The value '-1' is invalid for '--after <at>'"))
    }

    /// Every option whose value may start with `-` (parsed `.unconditional`, as the help dump says) still
    /// takes one: the refusal of a value that starts with `-` leaves the next argument after such an
    /// option to the option's own check.
    @Test func optionsTakingAValueThatStartsWithADashStillTakeIt() throws {
        let daemon = try DaemonHarness()
        let dump = try JSONValue(parsing: Array(try self.run(daemon, ["--experimental-dump-help"]).output.utf8))
        var options: [String: [String]] = [:]
        func collect(_ command: JSONValue, path: [String]) {
            for argument in command["arguments"]?.arrayValue ?? [] where argument.string("parsingStrategy") == "unconditional" {
                for name in argument["names"]?.arrayValue ?? [] where name.string("kind") == "long" {
                    if let long = name.string("name"), options["--" + long] == nil { options["--" + long] = path }
                }
            }
            for subcommand in command["subcommands"]?.arrayValue ?? [] {
                collect(subcommand, path: path + [subcommand.string("commandName") ?? "?"])
            }
        }
        collect(try #require(dump["command"]), path: [])
        #expect(options.count >= 10, "\(options)")
        for (option, path) in options {
            let run = try self.run(daemon, path + [option, "-1"])
            #expect(!run.error.contains("is not an option"), "\(path) \(option): \(run.error)")
        }
    }

    /// `call` takes its params as a JSON object, which every method needs: an array was sent, and refused
    /// by the daemon (-32602, exit status 1), though the help said an array would do. It is refused before
    /// calling, as any params that are no object (exit status 64, one line from stdin).
    @Test func callParamsAreAnObject() throws {
        let daemon = try DaemonHarness()
        let argument = try self.run(daemon, ["call", "system.health", "[]"])
        #expect(argument.status == 64, "\(argument.error)")
        #expect(argument.error.contains("Expected a JSON object in the params, not '[]'"), "\(argument.error)")
        let input = daemon.directory + "-array.json"
        defer { try? FileManager.default.removeItem(atPath: input) }
        try "[1, 2]".write(toFile: input, atomically: true, encoding: .utf8)
        let piped = try self.run(daemon, ["call", "system.health", "-"], input: input)
        #expect(piped.status == 64, "\(piped.error)")
        #expect(piped.error.split(separator: "\n").count == 1 && piped.error.contains("JSON object"), "\(piped.error)")
        let help = try self.run(daemon, ["call", "--help"]).output
        #expect(!help.contains("array"), "\(help)")
    }
}
