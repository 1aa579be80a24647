// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// The `contactledger` CLI, run as a real process against a real daemon.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct CLITests {
    struct Run {
        var status: Int32
        var output: String
        var error: String
    }

    /// The CLI's executable.
    static var cli: URL { DaemonHarness.productsDirectory.appendingPathComponent("contactledger") }

    /// Runs the CLI (or `executable`) against `daemon` to its end, with `environment` added to this
    /// process's, and the file at `input` (when given) as its stdin.
    func run(
        _ daemon: DaemonHarness, _ arguments: [String], executable: URL = Self.cli, socket: String? = nil, environment added: [String: String] = [:],
        input: String? = nil
    ) throws -> Run {
        let process = ChildProcess()
        process.executableURL = executable
        process.arguments = arguments
        if let input { process.standardInput = FileHandle(forReadingAtPath: input) }
        var environment = ProcessInfo.processInfo.environment.merging(added) { $1 }
        environment["CONTACTLEDGER_SOCKET"] = socket ?? daemon.socketPath
        process.environment = environment
        let finished = try process.runToEnd()
        return Run(status: finished.status, output: finished.output, error: finished.error)
    }

    @Test func createModifyReadAndFail() throws {
        let daemon = try DaemonHarness()
        #expect(try self.run(daemon, ["workspace", "configure", "--country", "RW"]).status == 0)
        #expect(try self.run(daemon, ["field", "create", "age", "--type", "number"]).status == 0)
        let created = try self.run(daemon, ["contact", "create", "--name", "Ben", "--urn", "tel:0788 123 123", "--field", "age=23", "--json"])
        #expect(created.status == 0)
        let contact = try JSONDecoder().decode(JSONValue.self, from: Data(created.output.utf8))
        let uuid = try #require(contact.string("uuid"))
        #expect(contact["urns"] == ["tel:+250788123123"])
        let shown = try self.run(daemon, ["contact", "get", uuid])
        #expect(shown.status == 0)
        #expect(shown.output.contains("Ben"))
        #expect(shown.output.contains("tel:+250788123123"))
        #expect(try self.run(daemon, ["contact", "modify", uuid, "--field", "age=24", "--name", "Ben H"]).status == 0)
        #expect(try daemon.call("contacts.get", ["uuid": .string(uuid)])["fields"]?["age"]?.string("text") == "24")
        let history = try self.run(daemon, ["contact", "history", uuid])
        #expect(history.output.contains("contact_name_changed"))
        #expect(try self.run(daemon, ["contact", "block", uuid]).status == 0)
        // A refused command: one line with the code on stderr, exit status 1.
        let refused = try self.run(daemon, ["send", uuid, "hello"])
        #expect(refused.status == 1)
        #expect(refused.error.contains("-32003"))
        #expect(refused.error.split(separator: "\n").count == 1)
        // Any method through `call`.
        let call = try self.run(daemon, ["call", "contacts.get", #"{"urn":"tel:+250788123123"}"#])
        #expect(call.status == 0)
        #expect(call.output.contains(uuid))
        // Search at the top level, with featured fields as columns.
        #expect(try self.run(daemon, ["field", "update", "age", "--featured", "true", "--priority", "1"]).status == 0)
        #expect(try self.run(daemon, ["contact", "activate", uuid]).status == 0)
        let search = try self.run(daemon, ["search", "age > 18", "--sort", "-created_on"])
        #expect(search.status == 0)
        #expect(search.output.uppercased().contains("AGE"))
        #expect(search.output.contains("24"))
        #expect(search.output.contains("total: 1"))
        let count = try self.run(daemon, ["count", "age > 30"])
        #expect(count.output.contains("0"))
        // A message with no route shows its reason, in the message sent and in the contact's table of messages.
        let nobody = try #require(try daemon.call("contacts.create", ["name": "Nobody"]).string("uuid"))
        #expect(try self.run(daemon, ["send", nobody, "hello?"]).output.contains("no_route"))
        let messages = try self.run(daemon, ["contact", "messages", nobody])
        #expect(messages.output.uppercased().contains("UNSENDABLE"), "\(messages.output)")
        #expect(messages.output.contains("no_route"), "\(messages.output)")
        let verify = try self.run(daemon, ["verify"])
        #expect(verify.status == 0)
        #expect(verify.output.contains("true"))
    }

    /// `verify` on an empty log verifies nothing and succeeds (it sent `from_seq: 1`, which a check of seqs
    /// past the head refused: README audit), and a `--to` past the head is the daemon's `past_head`, not
    /// a range cut to the head and verified (an anchor recorded before the log's tail was cut).
    @Test func verifyOnAnEmptyLogAndPastTheHead() throws {
        let daemon = try DaemonHarness()
        let empty = try self.run(daemon, ["verify"])
        #expect(empty.status == 0, "\(empty.output) \(empty.error)")
        #expect(empty.output.contains("true"))
        try daemon.call("contacts.create", ["name": "One"])
        let past = try self.run(daemon, ["verify", "--to", "100"])
        #expect(past.status == 1, "\(past.output) \(past.error)")
        #expect(past.error.contains("past_head"), "\(past.error)")
        #expect(try self.run(daemon, ["verify", "--to", "1"]).status == 0)
    }

    /// Starts the CLI with `arguments` against `daemon` in the background (a `tail`), its output and error
    /// on pipes; the caller ends it.
    func start(_ daemon: DaemonHarness, _ arguments: [String]) throws -> (process: ChildProcess, output: Pipe, error: Pipe) {
        let process = ChildProcess()
        process.executableURL = Self.cli
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["CONTACTLEDGER_SOCKET": daemon.socketPath]) { $1 }
        let (output, error) = (Pipe(), Pipe())
        process.standardOutput = output
        process.standardError = error
        try process.run()
        return (process, output, error)
    }

    /// Up to `count` lines from `handle`, waiting at most `seconds` in all.
    func readLines(_ handle: FileHandle, count: Int, seconds: Double) -> [String] {
        var buffer: [UInt8] = []
        var lines: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        while lines.count < count, Date() < deadline {
            var ready = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let read = chunk.withUnsafeMutableBytes { Foundation.read(handle.fileDescriptor, $0.baseAddress, $0.count) }
            guard read > 0 else { break }
            buffer += chunk[..<read]
            while let newline = buffer.firstIndex(of: 10) {
                lines.append(String(decoding: buffer[..<newline], as: UTF8.self))
                buffer.removeSubrange(...newline)
            }
        }
        return lines
    }

    /// Issue 6's CLI: the projections table, a rebuild followed with a live progress bar, and `tail`
    /// following the log (catch-up, then live) with a type filter.
    /// `audit --since` is inclusive, as its help says: the change at the seq or the time given is listed
    /// (it was passed on as `audit.changes`' `from`, the state at the point, which leaves it out).
    @Test func auditSinceIsInclusive() throws {
        let daemon = try DaemonHarness()
        for index in 0..<4 { try daemon.call("contacts.create", ["name": .string("a\(index)")]) }
        let seqs = { (run: Run) -> [Int64] in
            let answer = try JSONDecoder().decode(JSONValue.self, from: Data(run.output.utf8))
            return answer["items"]?.arrayValue?.compactMap { $0.int("seq") } ?? []
        }
        #expect(try seqs(self.run(daemon, ["audit", "--since", "2", "--until", "3", "--json"])) == [2, 3])
        let third = try #require(try daemon.call("events.read", ["after_seq": 2, "limit": 1])["items"]?.arrayValue?.first?.string("created_on"))
        #expect(try seqs(self.run(daemon, ["audit", "--since", third, "--until", third, "--json"])) == [3])
        #expect(try seqs(self.run(daemon, ["audit", "--since", "1", "--json"])) == [1, 2, 3, 4])
        // A date is the whole day (UTC): --since from its first instant (it listed nothing of the day, the
        // daemon reading a bare date as the day's end), --until to its last. RFC 3339's space for the T.
        let day = String(third.prefix(10))
        #expect(try seqs(self.run(daemon, ["audit", "--since", day, "--json"])) == [1, 2, 3, 4])
        #expect(try seqs(self.run(daemon, ["audit", "--since", day, "--until", day, "--json"])) == [1, 2, 3, 4])
        #expect(try seqs(self.run(daemon, ["audit", "--since", third.replacingOccurrences(of: "T", with: " "), "--until", third, "--json"])) == [3])
        #expect(try seqs(self.run(daemon, ["audit", "--since", third.lowercased(), "--until", third, "--json"])) == [3])
        #expect(try seqs(self.run(daemon, ["audit", "--until", "2000-01-01", "--json"])) == [])
    }

    /// A contact's history, past view and diff take a date as `audit` does, the end of that day as the
    /// daemon reads it: `contact history --before DATE` was refused as not a time.
    @Test func contactPointsTakeADate() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["name": "First"]).string("uuid"))
        try daemon.call("contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "name", "name": "Second"]]])
        let created = try #require(try daemon.call("contacts.get", ["uuid": .string(uuid)]).string("created_on"))
        let today = String(created.prefix(10))
        let events = { (run: Run) -> Int? in
            try JSONDecoder().decode(JSONValue.self, from: Data(run.output.utf8))["items"]?.arrayValue?.count
        }
        #expect(try events(self.run(daemon, ["contact", "history", uuid, "--before", today, "--json"])) == 2)
        #expect(try events(self.run(daemon, ["contact", "history", uuid, "--before", "2000-01-01", "--json"])) == 0)
        #expect(try events(self.run(daemon, ["contact", "history", uuid, "--after", "2000-01-01", "--json"])) == 2)
        #expect(try events(self.run(daemon, ["contact", "history", uuid, "--after", today, "--json"])) == 0)
        let past = try self.run(daemon, ["contact", "as-of", uuid, today, "--json"])
        #expect(past.status == 0)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(past.output.utf8)).string("name") == "Second")
        #expect(try self.run(daemon, ["contact", "history", uuid, "--before", "2000-13-45"]).status != 0)
    }

    /// Featured fields show in a search table as RapidPro displays them (§3.2): a datetime in the
    /// workspace's date format, a location by its name, and a value that does not parse as its type not
    /// at all (it counts as not set). The table showed each value's raw text.
    @Test func featuredFieldsShowAsDisplayed() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["date_format": "DD-MM-YYYY", "timezone": "UTC"])
        try daemon.call("workspace.set_locations", ["hierarchy": ContactKit.rwanda])
        for (key, type) in [("dob", "datetime"), ("age", "number"), ("st", "state")] {
            try daemon.call("fields.create", ["key": .string(key), "type": .string(type)])
            try daemon.call("fields.update", ["key": .string(key), "featured": true])
        }
        try daemon.call("contacts.create", ["name": "Typed", "fields": ["dob": "2002-08-27 23:30", "age": "41", "st": "kigali city"]])
        try daemon.call("contacts.create", ["name": "Untyped", "fields": ["dob": "garbage", "age": "many"]])
        let table = try self.run(daemon, ["search", "", "--sort", "name"])
        #expect(table.status == 0)
        let typed = try #require(table.output.split(separator: "\n").first { $0.contains("Typed") && !$0.contains("Untyped") })
        #expect(typed.contains("27-08-2002 23:30") && typed.contains("41") && typed.contains("Kigali City"), "\(typed)")
        #expect(!typed.contains(">"))
        #expect(!table.output.contains("garbage") && !table.output.contains("many"), "\(table.output)")
    }

    /// A table is one line per row with its columns aligned, whatever the values hold: a name's escape
    /// sequence, newline or tab is shown, not sent to the terminal, wide characters count two columns and
    /// zero-width ones none (counted one each, they shifted the rest of their row left: CLI audit).
    @Test func tablesShowControlCharactersAndAlignWideOnes() throws {
        let daemon = try DaemonHarness()
        try daemon.call("contacts.create", ["name": "Evil\u{1B}[31mRED\u{1B}[0m\nSecond\tTab"])
        try daemon.call("contacts.create", ["name": "日本語の名前"])
        try daemon.call("contacts.create", ["name": "plain"])
        try daemon.call("contacts.create", ["name": "Zero\u{200B}Width\u{200D}\u{FEFF}"])
        let table = try self.run(daemon, ["search", ""])
        #expect(table.status == 0)
        #expect(!table.output.contains("\u{1B}") && !table.output.contains("\t"))
        let lines = table.output.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.contains("active") }.count == 4, "\(lines)")
        #expect(lines.contains { $0.contains("Evil\u{241B}[31mRED\u{241B}[0m ⏎ Second\u{2409}Tab") })
        // The STATUS column starts at the same terminal column on every row.
        let starts = lines.compactMap { line -> Int? in
            guard let range = line.range(of: "active") else { return nil }
            return line[..<range.lowerBound].unicodeScalars.reduce(0) { width, scalar in
                width + (["\u{200B}", "\u{200D}", "\u{FEFF}"].contains(scalar) ? 0 : ("\u{3040}"..."\u{9FFF}").contains(scalar) ? 2 : 1)
            }
        }
        #expect(starts.count == 4 && Set(starts).count == 1, "\(starts)")
    }

    @Test func projectionsRebuildWithAProgressBarAndTail() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 8_000)
        let table = try self.run(daemon, ["projections"])
        #expect(table.status == 0)
        #expect(table.output.contains("contacts") && table.output.contains("ready"), "\(table.output)")
        // Progress as a percentage and lag in words, not the raw fraction and object (CLI audit).
        let ready = table.output.split(whereSeparator: \.isNewline).first { $0.hasPrefix("contacts") } ?? ""
        #expect(ready.contains("100%") && ready.contains("0 events, 0 s") && ready.contains("inline"), "\(table.output)")
        // While a rebuild runs the table shows it: phase, its own position over the head, rate, ETA.
        let during = try self.run(
            daemon, ["-c", "\(Self.cli.path) --socket \(daemon.socketPath) projections rebuild contacts --detach > /dev/null && \(Self.cli.path) --socket \(daemon.socketPath) projections"],
            executable: URL(fileURLWithPath: "/bin/sh")
        )
        let rebuilding = during.output.split(whereSeparator: \.isNewline).first { $0.hasPrefix("contacts") } ?? ""
        #expect(rebuilding.contains("rebuilding") && rebuilding.contains("/8000 · ") && rebuilding.contains("events/s · ETA"), "\(during.output)")
        _ = try daemon.waitUntilReady()

        // The bar is drawn only on a terminal: `script` gives the CLI one. It is redrawn in place (\r)
        // until the rebuild is done, then the status table follows.
        let rebuild = try self.run(daemon, ["-qec", "\(Self.cli.path) projections rebuild contacts", "/dev/null"], executable: URL(fileURLWithPath: "/usr/bin/script"))
        #expect(rebuild.status == 0, "\(rebuild.output) \(rebuild.error)")
        #expect(rebuild.output.contains("\r") && rebuild.output.contains("events/s"), "\(rebuild.output)")
        #expect(rebuild.output.contains("█ 100% 8000/8000"), "\(rebuild.output)")
        let final = rebuild.output.split(whereSeparator: \.isNewline).last { $0.hasPrefix("contacts") }
        #expect(final?.contains("ready") == true, "\(rebuild.output)")
        // Without a terminal: no bar, the table only.
        let piped = try self.run(daemon, ["projections", "rebuild", "contacts"])
        #expect(piped.status == 0)
        #expect(!piped.error.contains("%") && piped.output.contains("ready"), "\(piped.error)")

        // tail: the name changes after seq 0, then one made while it follows.
        let uuid = try #require(try daemon.call("contacts.get", ["urn": "ext:p42"]).string("uuid"))
        try ContactKit.modify(daemon, uuid, [["type": "name", "name": "First"]])
        let (tail, output, _) = try self.start(daemon, ["tail", "--after", "0", "--type", "contact_name_changed", "--json"])
        defer { tail.terminate(); tail.waitUntilExit() }
        let caughtUp = self.readLines(output.fileHandleForReading, count: 1, seconds: 30)
        try ContactKit.modify(daemon, uuid, [["type": "name", "name": "Second"]])
        let live = self.readLines(output.fileHandleForReading, count: 1, seconds: 30)
        let events = try (caughtUp + live).map { try JSONValue(parsing: Array($0.utf8)) }
        #expect(events.map { $0.string("type") } == ["contact_name_changed", "contact_name_changed"])
        #expect(events.map { $0["data"]?.string("name") } == ["First", "Second"])
        #expect((events.first?.int("seq") ?? 0) < (events.last?.int("seq") ?? 0))
    }

    /// A tail whose output nobody reads falls behind; the daemon cuts it off, and it says after which seq
    /// it stopped and how to resume from there, having printed every event up to that seq once.
    @Test func aTailThatFallsBehindSaysWhereToResume() throws {
        let daemon = try DaemonHarness(arguments: ["--subscriber-max-lag", "500"])
        let (tail, output, error) = try self.start(daemon, ["tail", "--after", "0", "--json"])
        try daemon.call("contacts.create", ["name": "first"])
        #expect(self.readLines(output.fileHandleForReading, count: 1, seconds: 30).count == 1)
        // Nobody reads its output now: its pipe fills, it stops reading the socket, the log runs ahead.
        try daemon.populate(count: 6_000)
        daemon.waitForLog("subscription cut off: too slow")
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tail.waitUntilExit()
        #expect(tail.terminationStatus != 0)
        let seqs = try [1] + printed.split(separator: "\n").map { try #require(try JSONValue(parsing: Array($0.utf8)).int("seq")) }
        let last = try #require(seqs.last)
        #expect(seqs == Array(1...last))
        #expect(last < 6_001)
        #expect(message.contains("resume with --after \(last)"), "\(message)")
    }

    @Test func anUnreachableDaemonIsExitStatus2() throws {
        let daemon = try DaemonHarness()
        daemon.stop()
        let run = try self.run(daemon, ["health"])
        #expect(run.status == 2)
        #expect(run.error.contains("contactledgerd"))
    }

    /// A stopped daemon (SIGSTOP: the kernel still accepts connections into its backlog, nothing answers)
    /// hangs a command only without a limit: with `--timeout` or `$CONTACTLEDGER_TIMEOUT` it fails with exit
    /// status 2 and says so. `tail` waits without a limit once subscribed, since a quiet log sends nothing.
    @Test func aTimeoutEndsACallToAStoppedDaemon() throws {
        let daemon = try DaemonHarness()
        #expect(try self.run(daemon, ["--timeout", "0.5", "health"]).status == 0)
        for refused in [["--timeout", "0", "health"], ["health", "--timeout", "-1"], ["--timeout", "nan", "health"]] {
            let run = try self.run(daemon, refused)
            #expect(run.status == 64, "\(refused)")
            #expect(run.error.contains("--timeout"), "\(run.error)")
        }

        _ = try daemon.call("contacts.create", ["name": "Early"])
        let (tail, output, _) = try self.start(daemon, ["tail", "--after", "0", "--type", "contact_created", "--timeout", "0.5", "--json"])
        defer { tail.terminate(); tail.waitUntilExit() }
        // Caught up (subscribed), then quiet for four timeouts: still following, and it shows the next event.
        let caughtUp = self.readLines(output.fileHandleForReading, count: 1, seconds: 30)
        Thread.sleep(forTimeInterval: 2)
        #expect(tail.isRunning)
        _ = try daemon.call("contacts.create", ["name": "Late"])
        let live = self.readLines(output.fileHandleForReading, count: 1, seconds: 30)
        let names = try (caughtUp + live).map { try JSONValue(parsing: Array($0.utf8))["data"]?.string("name") }
        #expect(names == ["Early", "Late"])

        let pid = try #require(daemon.process?.processIdentifier)
        #expect(Glibc.kill(pid, SIGSTOP) == 0)
        defer { Glibc.kill(pid, SIGCONT) }
        let started = Date()
        let stopped = try self.run(daemon, ["--timeout", "0.5", "health"])
        #expect(stopped.status == 2)
        #expect(stopped.error.contains("no answer from the daemon within 0.5 s"), "\(stopped.error)")
        #expect(stopped.error.split(separator: "\n").count == 1)
        #expect(Date().timeIntervalSince(started) < 20)
        let fromEnvironment = try self.run(daemon, ["search", ""], environment: ["CONTACTLEDGER_TIMEOUT": "0.25"])
        #expect(fromEnvironment.status == 2)
        #expect(fromEnvironment.error.contains("within 0.25 s"), "\(fromEnvironment.error)")

        // Woken, it answers the next call.
        #expect(Glibc.kill(pid, SIGCONT) == 0)
        #expect(try self.run(daemon, ["--timeout", "5", "health"]).status == 0)
    }

    /// The shared options may come before the subcommand, as with `docker -H` or `kubectl --kubeconfig`:
    /// `contactledger --socket PATH health` was refused as an unknown option (exit status 64).
    @Test func sharedOptionsBeforeTheSubcommand() throws {
        let daemon = try DaemonHarness()
        let elsewhere = "/tmp/clt-nowhere-\(UUID().uuidString.prefix(8)).sock"
        // The environment names a socket where no daemon listens: only the leading --socket reaches it.
        let health = try self.run(daemon, ["--socket", daemon.socketPath, "--json", "health"], socket: elsewhere)
        #expect(health.status == 0, "\(health.error)")
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(health.output.utf8)).string("status") == "ok")
        let created = try self.run(daemon, ["--socket=\(daemon.socketPath)", "--workspace", "other", "contact", "create", "--name", "Ada", "--json"], socket: elsewhere)
        #expect(created.status == 0, "\(created.error)")
        #expect(try daemon.call("contacts.count", ["workspace": "other", "query": ""]).int("total") == 1)
        let called = try self.run(daemon, ["--socket", daemon.socketPath, "call", "system.health", "{}"], socket: elsewhere)
        #expect(called.status == 0, "\(called.error)")
        // Seq 0 is no seq: the CLI refuses it as the daemon does, rather than checking the whole log.
        #expect(try self.run(daemon, ["--socket", daemon.socketPath, "verify", "--to", "0"]).status == 64)
        // Without it, the environment's socket is used, and there is no daemon there.
        #expect(try self.run(daemon, ["health"], socket: elsewhere).status == 2)
        // The last one written wins, as for options written after the subcommand: a shell alias's leading
        // --socket or --workspace beat the one a command gave (CLI audit).
        let overridden = try self.run(daemon, ["--socket", elsewhere, "health", "--socket", daemon.socketPath], socket: elsewhere)
        #expect(overridden.status == 0, "\(overridden.error)")
        let aliased = try self.run(daemon, ["--socket", daemon.socketPath, "--workspace", "nowhere", "count", "", "--workspace", "other", "--json"])
        #expect(try JSONValue(parsing: Array(aliased.output.utf8)).int("total") == 1, "\(aliased.output) \(aliased.error)")
        // Between a group and its subcommand too: before the subcommand, as the help says.
        let grouped = try self.run(daemon, ["contact", "--socket", daemon.socketPath, "create", "--name", "Bo", "--workspace", "other"], socket: elsewhere)
        #expect(grouped.status == 0, "\(grouped.error)")
        #expect(try daemon.call("contacts.count", ["workspace": "other", "query": ""]).int("total") == 2)
        // A mistyped subcommand is named as such, not the shared option moved behind it (workspaces audit:
        // `Unknown option '--socket'`).
        for arguments in [["--socket", daemon.socketPath, "workspace", "show"], ["workspace", "--socket", daemon.socketPath, "show"]] {
            let mistyped = try self.run(daemon, arguments)
            #expect(mistyped.status == 64)
            #expect(mistyped.error.contains("Unexpected argument 'show'") && !mistyped.error.contains("--socket'"), "\(mistyped.error)")
        }
    }
}
