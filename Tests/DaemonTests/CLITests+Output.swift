// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// What the CLI prints: the daemon's answers as it wrote them, and data made safe for a terminal.
extension CLITests {
    /// `--json` and `call` print the daemon's numbers as it wrote them. The CLI read every fraction as the
    /// nearest double, so a number field's 3.141592653589793238462643383279 came out as 3.141592653589793,
    /// 12345678.123456789 as 12345678.12345679 and -0.000001 as -1e-06.
    @Test func jsonPrintsTheDaemonsNumbersUnchanged() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        for number in ["3.141592653589793238462643383279", "12345678.123456789", "0.1000000000000000055511151231257827", "-0.000001"] {
            let uuid = try #require(try daemon.call("contacts.create", ["name": "n", "fields": ["age": .string(number)]]).string("uuid"))
            // The daemon's own text of the answer holds every digit.
            let client = try daemon.client()
            try client.send(raw: Array(#"{"jsonrpc":"2.0","id":1,"method":"contacts.get","params":{"uuid":"\#(uuid)"}}"#.utf8) + [10])
            let raw = String(decoding: try client.readLine(), as: UTF8.self)
            #expect(raw.contains("\"number\":\(number)"), "the daemon sent \(raw)")
            let shown = try self.run(daemon, ["contact", "get", uuid, "--json"])
            #expect(shown.status == 0)
            #expect(shown.output.contains("\"number\" : \(number)"), "\(shown.output)")
            let called = try self.run(daemon, ["call", "contacts.get", #"{"uuid": "\#(uuid)"}"#])
            #expect(called.output.contains("\"number\" : \(number)"), "\(called.output)")
        }
    }

    /// `--json` escapes the C1 controls, bidirectional formatting characters and line separators of the
    /// data as `\uXXXX`, as it escapes ESC: they were written raw, so a name's U+009B (the 8-bit CSI) and
    /// `2J` cleared a terminal that obeys 8-bit controls, and U+202E reversed the rest of the line. The
    /// JSON still reads back as the same name.
    @Test func jsonEscapesC1AndBidiControls() throws {
        let daemon = try DaemonHarness()
        let name = "A\u{9B}2J\u{85}\u{202E}B\u{2066}\u{200F}\u{61C}C\u{2028}D\u{7F}E"
        let uuid = try #require(try daemon.call("contacts.create", ["name": .string(name)]).string("uuid"))
        let raw: [Unicode.Scalar] = ["\u{9B}", "\u{85}", "\u{202E}", "\u{2066}", "\u{200F}", "\u{61C}", "\u{2028}", "\u{7F}"]
        func check(_ output: String, _ what: String) {
            #expect(!output.unicodeScalars.contains { raw.contains($0) }, "\(what): \(output.debugDescription)")
            #expect(output.contains(#"A\u009b2J\u0085\u202eB\u2066\u200f\u061cC\u2028D\u007fE"#), "\(what): \(output)")
        }
        for command in [["contact", "get", uuid, "--json"], ["call", "contacts.get", #"{"uuid": "\#(uuid)"}"#]] {
            let run = try self.run(daemon, command)
            #expect(run.status == 0, "\(command): \(run.error)")
            check(run.output, "\(command)")
            #expect(try JSONValue(parsing: Array(run.output.utf8)).string("name") == name)
        }
        for command in [["events", "read", "--after", "0", "--json"], ["contact", "history", uuid, "--json"]] {
            let run = try self.run(daemon, command)
            #expect(run.status == 0, "\(command): \(run.error)")
            check(run.output, "\(command)")
        }
        let (tail, output, _) = try self.start(daemon, ["tail", "--after", "0", "--json"])
        defer { tail.terminate(); tail.waitUntilExit() }
        let lines = self.readLines(output.fileHandleForReading, count: 1, seconds: 30)
        #expect(lines.count == 1)
        check(lines.joined(), "tail")
        #expect(try JSONValue(parsing: Array(lines.joined().utf8))["data"]?.string("name") == name)
    }

    /// `tail` shows an event's control characters as `events read` does (␛, ␇): it wrote them raw, so
    /// anyone who could name a contact could clear the operator's screen or set the terminal's title.
    @Test func tailShowsControlCharactersAsEventsReadDoes() throws {
        let daemon = try DaemonHarness()
        try daemon.call("contacts.create", ["name": "Evil\u{1B}[2J\u{1B}]0;pwned\u{07}Name"])
        let shown = "Evil\u{241B}[2J\u{241B}]0;pwned\u{2407}Name"
        let read = try self.run(daemon, ["events", "read", "--after", "0"])
        #expect(read.output.contains(shown), "\(read.output)")
        let (tail, output, _) = try self.start(daemon, ["tail", "--after", "0"])
        defer { tail.terminate(); tail.waitUntilExit() }
        let lines = self.readLines(output.fileHandleForReading, count: 1, seconds: 30)
        #expect(lines.count == 1)
        #expect(lines.allSatisfy { $0.contains(shown) && !$0.contains("\u{1B}") && !$0.contains("\u{07}") }, "\(lines)")
    }

    /// A value quoted in an event's data (a name with a space or a line break) shows its control characters
    /// as symbols in `tail`, `events read` and `contact history`, as `contact get` shows them: it was
    /// quoted as JSON, with escapes (`name="Ben\u001b[31mRed\nline"`), so the same name read two ways.
    @Test func quotedValuesShowControlCharactersAsSymbols() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["name": "Ben\u{1B}[31mRed\nline"]).string("uuid"))
        let shown = #"name="Ben\#u{241B}[31mRed \#u{23CE} line""#
        let get = try self.run(daemon, ["contact", "get", uuid])
        #expect(get.output.contains("Ben\u{241B}[31mRed \u{23CE} line"), "\(get.output)")
        // A right-to-left override reversed the rest of the line on the terminal; a line separator broke it.
        let bidi = try #require(try daemon.call("contacts.create", ["name": "ab\u{202E}cd\u{2028}ef\u{2066}g"]).string("uuid"))
        let bidiShown = try self.run(daemon, ["contact", "get", bidi]).output
        #expect(bidiShown.contains("ab\u{FFFD}cd \u{23CE} ef\u{FFFD}g"), "\(bidiShown)")
        for command in [["events", "read", "--after", "0"], ["contact", "history", uuid]] {
            let run = try self.run(daemon, command)
            #expect(run.output.contains(shown) && !run.output.contains("\\u001b"), "\(command): \(run.output)")
        }
        let (tail, output, _) = try self.start(daemon, ["tail", "--after", "0"])
        defer { tail.terminate(); tail.waitUntilExit() }
        // The first event's line (the second contact's may come in the same read).
        let lines = Array(self.readLines(output.fileHandleForReading, count: 1, seconds: 30).prefix(1))
        #expect(lines.count == 1)
        #expect(lines.allSatisfy { $0.contains(shown) && !$0.contains("\\u001b") && !$0.contains("\\n") }, "\(lines)")
    }

    /// `contact get` shows the featured fields first, by priority and as displayed (a datetime in the
    /// workspace's date format), then the others by key: they were all by key, the featured ones mixed in.
    @Test func contactGetShowsTheFeaturedFieldsFirst() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["date_format": "DD-MM-YYYY", "timezone": "UTC"])
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("fields.create", ["key": "due", "type": "datetime"])
        try daemon.call("fields.create", ["key": "aaa_notes", "type": "text"])
        try daemon.call("fields.update", ["key": "age", "featured": true, "priority": 9])
        try daemon.call("fields.update", ["key": "due", "featured": true, "priority": 2])
        let fields: JSONValue = ["age": "30", "due": "2023-05-17T10:30:00Z", "aaa_notes": "hello"]
        let uuid = try #require(try daemon.call("contacts.create", ["name": "F", "fields": fields]).string("uuid"))
        let get = try self.run(daemon, ["contact", "get", uuid])
        let shown = get.output.split(separator: "\n").filter { $0.contains("fields.") }.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(shown.map { $0.first ?? "" } == ["fields.age", "fields.due", "fields.aaa_notes"], "\(get.output)")
        #expect(shown.dropFirst().first?.dropFirst().joined(separator: " ") == "17-05-2023 10:30", "\(get.output)")
        // A featured value that does not read as its type counts as not set, shown as an unset one is.
        try ContactKit.modify(daemon, uuid, [ContactKit.field("age", "abc")])
        let unset = try self.run(daemon, ["contact", "get", uuid]).output.split(separator: "\n").first { $0.hasPrefix("fields.age") }
        #expect(unset?.split(separator: " ").last == "-", "\(unset ?? "")")
    }

    /// `contact get` shows every field as displayed (§3.2), featured or not: a datetime in the workspace's
    /// zone and date format, a number as its number. The fields not featured showed their raw text
    /// (`2026-01-02T20:00:00Z`, ` 0012.50` with its leading space). `tail --help` says its `--json` is one
    /// compact line (it said "pretty").
    @Test func contactGetShowsEveryFieldAsDisplayed() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["date_format": "DD-MM-YYYY", "timezone": "Asia/Kolkata"])
        for (key, type) in [("due", "datetime"), ("amount", "number"), ("note", "text"), ("seen", "datetime")] {
            try daemon.call("fields.create", ["key": .string(key), "type": .string(type)])
        }
        try daemon.call("fields.update", ["key": "seen", "featured": true])
        let fields: JSONValue = ["due": "2026-01-02T20:00:00Z", "amount": " 0012.50", "note": "hello there", "seen": "2026-01-02T20:00:00Z"]
        let uuid = try #require(try daemon.call("contacts.create", ["name": "F", "fields": fields]).string("uuid"))
        let get = try self.run(daemon, ["contact", "get", uuid])
        #expect(get.status == 0, "\(get.error)")
        let shown = Dictionary(
            get.output.split(separator: "\n").filter { $0.hasPrefix("fields.") }.map { line in
                let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                return (words.first ?? "", words.dropFirst().joined(separator: " "))
            }
        ) { first, _ in first }
        #expect(shown["fields.seen"] == "03-01-2026 01:30", "\(get.output)")
        #expect(shown["fields.due"] == "03-01-2026 01:30", "\(get.output)")
        #expect(shown["fields.amount"] == "12.5", "\(get.output)")
        #expect(shown["fields.note"] == "hello there", "\(get.output)")
        // Every value starts at the same column: no leading space of the number's text.
        let amount = try #require(get.output.split(separator: "\n").first { $0.hasPrefix("fields.amount") })
        let note = try #require(get.output.split(separator: "\n").first { $0.hasPrefix("fields.note") })
        #expect(amount.firstRange(of: "12.5")?.lowerBound.utf16Offset(in: amount) == note.firstRange(of: "hello")?.lowerBound.utf16Offset(in: note), "\(get.output)")

        // Words joined again: the help wraps its lines.
        let help = try self.run(daemon, ["tail", "--help"]).output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("one compact line per event for tail") && !help.contains("(pretty, sorted keys)"), "\(help)")
    }

    /// An error is one stderr line whatever its message quotes, with control characters shown as a table
    /// shows them: a query holding a newline made the message two lines, and an escape went to the
    /// terminal raw (only the data part was escaped).
    @Test func anErrorIsOneLineWhateverItQuotes() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let newline = try self.run(daemon, ["search", "age > \"1\n2\""])
        #expect(newline.status == 1)
        #expect(newline.error.split(separator: "\n").count == 1, "\(newline.error)")
        #expect(newline.error.contains("1 ⏎ 2"), "\(newline.error)")
        let escape = try self.run(daemon, ["search", "age > \"\u{1B}[31mRED\""])
        #expect(escape.status == 1)
        #expect(!escape.error.contains("\u{1B}") && escape.error.contains("\u{241B}[31mRED"), "\(escape.error)")
        #expect(escape.error.split(separator: "\n").count == 1, "\(escape.error)")
    }

    /// `field usage KEY` shows the columns its answer has (the groups' UUID and name): it showed the group
    /// table's query, status and count as `-`, which reads as a smart group with no query.
    @Test func fieldUsageShowsOnlyWhatItAnswers() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let group = try daemon.call("groups.create", ["name": "Adults", "query": "age > 17"])
        let run = try self.run(daemon, ["field", "usage", "age"])
        #expect(run.status == 0, "\(run.error)")
        let lines = run.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.first == ["UUID", "NAME"], "\(run.output)")
        #expect(lines.dropFirst().map { $0 } == [[try #require(group.string("uuid")), "Adults"]], "\(run.output)")
    }

    /// A command whose output cannot be written fails (exit status 74, one line on stderr saying why):
    /// `health > /dev/full`, `events read --json` to a full disk and `methods` with stdout closed exited 0
    /// with nothing said, the failed writes unchecked. `tail` stops at the first event it cannot write.
    @Test func outputThatCannotBeWrittenFails() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 300)
        // With stdout closed, descriptor 1 is the next file the runtime opens (an eventfd): the reason is
        // that of a write to it.
        let cases: [(String, String?)] = [
            ("health > /dev/full", "No space left on device"),
            ("events read --limit 1000 --json > /dev/full", "No space left on device"),
            ("call system.stats > /dev/full", "No space left on device"),
            ("methods >&-", nil),
            ("timeout 30 \(Self.cli.path) tail --after 0 --json > /dev/full", "No space left on device"),
            // The help and the version, which ArgumentParser prints and exits after (CLI recheck: exit 0).
            ("--help > /dev/full", "No space left on device"), ("--version > /dev/full", "No space left on device"),
            ("send x -h > /dev/full", "No space left on device"),
        ]
        for (command, reason) in cases {
            let line = command.hasPrefix("timeout") ? command : "\(Self.cli.path) \(command)"
            let run = try self.run(daemon, ["-c", line], executable: URL(fileURLWithPath: "/bin/sh"))
            #expect(run.status == 74, "\(command): \(run.error)")
            #expect(run.error.hasPrefix("error: cannot write the output (") && run.error.split(separator: "\n").count == 1, "\(command): \(run.error)")
            if let reason { #expect(run.error == "error: cannot write the output (\(reason))\n", "\(command): \(run.error)") }
        }
        // Written, the same commands succeed.
        let written = try self.run(daemon, ["-c", "\(Self.cli.path) events read --limit 1000 --json > /dev/null"], executable: URL(fileURLWithPath: "/bin/sh"))
        #expect(written.status == 0 && written.error.isEmpty, "\(written.error)")
        let help = try self.run(daemon, ["--help"]).output
        #expect(help.contains("74  the output could not be written"), "\(help)")
    }

    /// An empty `NO_COLOR` leaves colour on, as no-color.org says (only a non-empty one turns it off): the
    /// CLI took any `NO_COLOR`, even empty, for no colour.
    @Test func anEmptyNoColorLeavesColourOn() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        func fieldList(noColor: String) throws -> String {
            // `script` gives the CLI a terminal, where colour is used.
            let run = try self.run(
                daemon, ["-qec", "\(Self.cli.path) field list", "/dev/null"], executable: URL(fileURLWithPath: "/usr/bin/script"),
                environment: ["NO_COLOR": noColor, "TERM": "xterm"]
            )
            #expect(run.status == 0, "\(run.error)")
            return run.output
        }
        #expect(try fieldList(noColor: "").contains("\u{1B}[1m"))
        #expect(try !fieldList(noColor: "1").contains("\u{1B}["))
    }
}
