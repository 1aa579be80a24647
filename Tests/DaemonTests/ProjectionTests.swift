// ContactLedger — daemon tests.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import RPC
import Synchronization
import TestSupport
import Testing

/// Projection status, online rebuilds, dry-run verification and event upcasting.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ProjectionTests {
    /// Runs `contactledgerd rebuild --data-dir` on the daemon's directory, or names it in a config file
    /// (`--config`, as the daemon's unit does): its exit status, output and error output (the progress).
    func offlineRebuild(_ daemon: DaemonHarness, throughConfigFile: Bool = false) throws -> (status: Int32, output: String, errors: String) {
        let process = ChildProcess()
        process.executableURL = DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd")
        process.arguments = ["rebuild", "--data-dir", daemon.directory]
        if throughConfigFile {
            let config = daemon.directory + ".json"
            try Data(JSONLine.encode(["data_dir": .string(daemon.directory)] as JSONValue)).write(to: URL(fileURLWithPath: config))
            process.arguments = ["rebuild", "--config", config]
        }
        // The config file lies beside the daemon's directory, which the harness removes; this one is ours to remove.
        defer { if throughConfigFile { try? FileManager.default.removeItem(atPath: daemon.directory + ".json") } }
        let output = Pipe()
        process.standardOutput = output
        // A file, not a pipe: a pipe left unread while the output is read could fill and stall the rebuild.
        let errorsPath = daemon.directory + ".errors"
        defer { try? FileManager.default.removeItem(atPath: errorsPath) }
        guard FileManager.default.createFile(atPath: errorsPath, contents: nil), let errors = FileHandle(forWritingAtPath: errorsPath) else {
            throw CocoaError(.fileWriteUnknown)
        }
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try errors.close()
        let errorText = (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, text, errorText)
    }

    /// What the read models answer, as a client sees it: every contact, a search and counts over the
    /// field index, every group with its members, the fields, the audit index for each writer, and
    /// the timelines of `timelines` (stream index and history).
    func readModelAnswers(_ daemon: DaemonHarness, groups: [String], actors: [String], timelines: [String]) throws -> [String: JSONValue] {
        var answers: [String: JSONValue] = [:]
        let contacts = try ContactKit.allPages(daemon, "contacts.search", ["query": ""], itemsKey: "contacts")
        answers["contacts"] = .array(contacts.sorted { ($0.int("id") ?? 0) < ($1.int("id") ?? 0) })
        let older = try ContactKit.allPages(daemon, "contacts.search", ["query": "age > 40"], itemsKey: "contacts")
        answers["search age > 40"] = .array(older.compactMap { $0["uuid"] }.sorted { ($0.stringValue ?? "") < ($1.stringValue ?? "") })
        for query in ["", "age > 40", "name ~ during", "urn ~ ext"] {
            answers["count \(query)"] = try daemon.call("contacts.count", ["query": .string(query)])
        }
        answers["groups"] = try daemon.call("groups.list")
        for group in groups {
            let members = try ContactKit.allPages(daemon, "groups.members", ["uuid": .string(group)])
            answers["members \(group)"] = .array(members.compactMap { $0["uuid"] }.sorted { ($0.stringValue ?? "") < ($1.stringValue ?? "") })
        }
        answers["fields"] = try daemon.call("fields.list")
        for actor in actors {
            answers["audit \(actor)"] = .array(try ContactKit.allPages(daemon, "audit.changes", ["actor": .string(actor)]))
        }
        for uuid in timelines {
            answers["history \(uuid)"] = .array(try ContactKit.history(daemon, uuid))
        }
        return answers
    }

    /// Issue 6's test: a rebuild while 16 clients write loses no acknowledged write, and the model it
    /// leaves equals the one an offline rebuild makes from scratch with the daemon stopped.
    @Test func aRebuildWithSixteenWritersEqualsAnOfflineRebuildFromScratch() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "name": "Age", "type": "number"])
        let manual = try #require(try daemon.call("groups.create", ["name": "Called"]).string("uuid"))
        let smart = try #require(try daemon.call("groups.create", ["name": "Older", "query": "age > 40"]).string("uuid"))
        try daemon.populate(count: 3000)
        let populated = try ContactKit.allPages(daemon, "contacts.search", ["query": ""], itemsKey: "contacts").compactMap { $0.string("uuid") }
        #expect(populated.count == 3000)

        // Sixteen writers create contacts and change populated ones (an age that puts some of them in the
        // smart group, the manual group, and for one in five the archived status, which leaves every
        // group), keeping the last answer for each contact. A seventeenth thread starts the rebuild once
        // they are writing, and they write on until it is done: the rebuild runs wholly among writes.
        let headAtStart = Mutex<Int64>(0)
        let rebuilt = Mutex(false)
        let acknowledged = try onThreads(17) { index -> [String: JSONValue] in
            if index == 16 {
                while try ContactKit.head(daemon) < 3_003 + 64 { usleep(5_000) }
                headAtStart.withLock { $0 = (try? ContactKit.head(daemon)) ?? 0 }
                try daemon.call("projections.rebuild", ["name": "contacts"])
                // Its progress is the share of the log's live head replayed: measured against the head
                // where the rebuild began, it showed 1.0 while the rebuild still caught up with the tail.
                var status = try daemon.call("projections.status")["projections"]?.arrayValue?.first
                while status?.string("state") == "rebuilding" {
                    let position = Double(status?["rebuild"]?.int("position") ?? 0)
                    let head = Double(status?.int("head_seq") ?? 1)
                    #expect((status?.number("progress") ?? 2) <= position / head + 1e-9, "\(status ?? .null)")
                    usleep(20_000)
                    status = try daemon.call("projections.status")["projections"]?.arrayValue?.first
                }
                _ = try daemon.waitUntilReady()
                rebuilt.withLock { $0 = true }
                return [:]
            }
            let client = try daemon.client()
            let actor = JSONValue.string("writer\(index)@example.org")
            var answers: [String: JSONValue] = [:]
            var number = 0
            while number < 25 || !rebuilt.withLock({ $0 }) {
                let created = try client.call("contacts.create", [
                    "name": .string("during\(index)-\(number)"), "urns": [.string("ext:d\(index)-\(number)")],
                    "fields": ["age": .string("\(number * 4 + index)")], "actor": actor,
                ])
                answers[try #require(created.string("uuid"))] = created
                if number < 25 {
                    let target = populated[index * 25 + number]
                    let modifiers: [JSONValue] = [
                        ContactKit.field("age", "\(30 + number)"), ContactKit.groups("add", [manual]),
                        ContactKit.status(number % 5 == 0 ? "archived" : "active"),
                    ]
                    answers[target] = try client.call("contacts.modify", ["uuid": .string(target), "modifiers": .array(modifiers), "actor": actor])
                } else {
                    // Past its changes, a writer only keeps the rebuild company, with a pause per create.
                    usleep(20_000)
                }
                number += 1
            }
            return answers
        }
        _ = try daemon.waitUntilReady()
        // The rebuild replayed events written after it started, in its staging or its catch-up.
        let staged = try #require(self.loggedPositions(daemon, "projection rebuild staged").first)
        let caughtUp = try #require(self.loggedPositions(daemon, "projection rebuild complete", key: "catch_up.events").first)
        #expect(staged > headAtStart.withLock { $0 } || caughtUp > 0)

        // No acknowledged write is missing: each contact reads back as its last answer said.
        var answers: [String: JSONValue] = [:]
        for writer in acknowledged { answers.merge(writer) { first, _ in first } }
        let creates = answers.count - 400
        #expect(creates >= 400)
        for (uuid, answer) in answers {
            guard case .object(var expected) = answer else { continue }
            expected["seq"] = nil
            #expect(try ContactKit.get(daemon, uuid) == .object(expected), "\(uuid)")
        }

        let actors = (0..<16).map { "writer\($0)@example.org" }
        let timelines = [populated[0], populated[7], populated[399]] + Array(answers.keys.sorted().prefix(3))
        let online = try self.readModelAnswers(daemon, groups: [manual, smart], actors: actors, timelines: timelines)
        #expect(online["count name ~ during"]?.int("total") == Int64(creates))
        // Every changed contact joined the manual group; the fifth of them archived left it again.
        #expect((online["members \(manual)"]?.arrayValue?.count ?? 0) == 320)

        #expect(daemon.stop() == 0)
        let (status, output, _) = try self.offlineRebuild(daemon)
        #expect(status == 0, "\(output)")
        try daemon.start()
        _ = try daemon.waitUntilReady()
        let offline = try self.readModelAnswers(daemon, groups: [manual, smart], actors: actors, timelines: timelines)
        #expect(Set(online.keys) == Set(offline.keys))
        for key in online.keys.sorted() {
            #expect(online[key] == offline[key], "\(key)")
        }
        #expect(try daemon.call("ledger.verify")["verified"] == true)
    }

    /// A rebuild's catch-up stops a command after a deletion of a field or a group once the command has
    /// taken its time, so deletions made during a rebuild could keep it from finishing if it applied them
    /// one per command: four writers delete fields and groups back to back for the whole rebuild. Empty
    /// ones cost little and go many to a command; the rebuild finishes, and none of them comes back.
    @Test func aRebuildFinishesWhileWritersDeleteFieldsAndGroupsBackToBack() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 3000)
        let rebuilt = Atomic<Bool>(false)
        let deletions = try onThreads(5) { index -> Int in
            let client = try daemon.client()
            if index == 4 {
                usleep(100_000)
                try client.call("projections.rebuild", ["name": "contacts"])
                let deadline = Date().addingTimeInterval(180)
                while Date() < deadline, !daemon.log().contains("projection rebuild complete") { usleep(20_000) }
                rebuilt.store(true, ordering: .relaxed)
                return 0
            }
            var deleted = 0
            while !rebuilt.load(ordering: .relaxed) {
                if index % 2 == 0 {
                    try client.call("fields.create", ["key": .string("gone\(index)_\(deleted)"), "type": "text"])
                    try client.call("fields.delete", ["key": .string("gone\(index)_\(deleted)")])
                } else {
                    let group = try #require(try client.call("groups.create", ["name": .string("gone\(index)-\(deleted)")]).string("uuid"))
                    try client.call("groups.delete", ["uuid": .string(group)])
                }
                deleted += 1
            }
            return deleted
        }
        #expect(daemon.log().contains("projection rebuild complete"), "the rebuild did not complete while the deletions went on")
        let staged = try #require(self.loggedPositions(daemon, "projection rebuild staged").first)
        let caughtUp = try #require(self.loggedPositions(daemon, "projection rebuild complete", key: "catch_up.events").first)
        // The deletions the catch-up applied: those after the staged position, up to where it ended.
        var inCatchUp = 0
        var after = staged
        while true {
            let page = try daemon.call("events.read", ["after_seq": .integer(after), "types": ["field_deleted", "group_deleted"]])
            let seqs = (page["items"]?.arrayValue ?? []).compactMap { $0.int("seq") }
            inCatchUp += seqs.filter { $0 <= staged + caughtUp }.count
            guard let last = seqs.last, last <= staged + caughtUp, page["next_cursor"] != .null else { break }
            after = last
        }
        #expect(inCatchUp >= 2, "no deletions reached the catch-up (\(deletions) made)")
        #expect(try daemon.call("fields.list")["fields"]?.arrayValue?.isEmpty == true)
        #expect(try daemon.call("groups.list")["groups"]?.arrayValue?.isEmpty == true)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// `projections.verify` replays the whole log into scratch tables through writer commands of 250
    /// events, and a command that has taken its time stops after the next deletion of a field that many
    /// contacts have, as a rebuild's catch-up does: seen from the commits `system.stats` counts (nothing
    /// else writes meanwhile), one more command per deletion than the events alone need.
    @Test func aVerificationStopsACommandAfterACostlyDeletion() throws {
        let daemon = try DaemonHarness()
        let fields = try Self.deletedFieldsOfManyContacts(daemon)
        let status = try daemon.waitUntilReady()
        let head = try #require(status.int("head_seq"))
        let before = try #require(try daemon.call("system.stats").int("commits"))
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        let after = try #require(try daemon.call("system.stats").int("commits"))
        // The reset, a command per 250 events, and one more per deletion.
        let chunks = (head + 249) / 250
        #expect(after - before >= 1 + chunks + Int64(fields), "\(after - before) commits for \(head) events")
    }

    /// The daemon's own commands on its read models (here `projections.verify`'s, one of which replays a
    /// field's deletion for a second) take a write batch alone, as bulk commands do, and the commands
    /// waiting go first after it: a create that shared a batch with the next one waited for two of them
    /// (a rebuild's catch-up). Seen from the daemon's `slow write batch` lines: none holds two commands.
    @Test func readModelWorkTakesAWriteBatchAlone() throws {
        let daemon = try DaemonHarness()
        _ = try Self.deletedFieldsOfManyContacts(daemon)
        _ = try daemon.waitUntilReady()
        let logBefore = daemon.log().utf8.count
        let verified = Atomic<Bool>(false)
        let created = try onThreads(2) { index -> Int in
            let client = try daemon.client()
            if index == 0 {
                #expect(try client.call("projections.verify", ["name": "contacts"])["differences"] == [])
                verified.store(true, ordering: .relaxed)
                return 0
            }
            var count = 0
            while !verified.load(ordering: .relaxed) {
                try client.call("contacts.create", ["name": .string("meanwhile \(count)")])
                count += 1
            }
            return count
        }
        #expect(created[1] > 0)
        let slow = daemon.log().utf8.dropFirst(logBefore).split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
            .filter { $0.contains("slow write batch") }
        #expect(!slow.isEmpty, "no command of the verification took 100 ms: the test shows nothing")
        let shared = slow.filter { !$0.contains("ledger.batch=1 ") && !$0.hasSuffix("ledger.batch=1") }
        #expect(shared.isEmpty, "\(shared)")
    }

    /// 3,000 contacts with five fields, then the fields deleted, a few events apart (so that no deletion
    /// ends a chunk of 250 by chance); returns how many were deleted.
    static func deletedFieldsOfManyContacts(_ daemon: DaemonHarness) throws -> Int {
        let fields = (0..<5).map { "kept\($0)" }
        for key in fields { try daemon.call("fields.create", ["key": .string(key), "type": "text"]) }
        let client = try daemon.client()
        for start in stride(from: 0, to: 3000, by: 200) {
            let batch: [JSONValue] = (start..<(start + 200)).map { index in
                let values = JSONValue.object(Dictionary(uniqueKeysWithValues: fields.map { ($0, JSONValue.string("v\(index % 7)")) }))
                return ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create", "params": ["name": .string("p\(index)"), "fields": values]]
            }
            try client.send(raw: JSONLine.encode(JSONValue.array(batch)) + [10])
            let answers = try #require(try client.readValue().arrayValue)
            #expect(answers.count == 200 && answers.allSatisfy { $0["result"] != nil })
        }
        for (index, key) in fields.enumerated() {
            for number in 0..<(index + 3) { try daemon.call("contacts.create", ["name": .string("between\(index)-\(number)")]) }
            try daemon.call("fields.delete", ["key": .string(key)])
        }
        return fields.count
    }

    @Test func statusRebuildAndVerifyWhileWritesGoOn() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 3000)
        let before = try daemon.call("contacts.get", ["urn": "ext:p1234"])
        let status = try daemon.waitUntilReady()
        #expect(status.string("name") == "contacts")
        #expect(status.int("position") == status.int("head_seq"))
        #expect(status["lag"]?.int("events") == 0)

        let started = try daemon.call("projections.rebuild", ["name": "contacts"])
        #expect(started["started"] == true)
        // Writers are not blocked while the rebuild runs: 16 clients keep writing.
        let written = try onThreads(16) { index in
            let client = try daemon.client()
            for number in 0..<25 { try client.call("contacts.create", ["name": .string("during\(index)-\(number)")]) }
            return 25
        }
        #expect(written.reduce(0, +) == 400)
        let after = try daemon.waitUntilReady()
        #expect(after.int("position") == after.int("head_seq"))
        #expect(try daemon.call("contacts.get", ["urn": "ext:p1234"]) == before)
        #expect(try daemon.call("contacts.count", ["query": "name ~ during"]).int("total") == 400)
        let verify = try daemon.call("projections.verify", ["name": "contacts"])
        #expect(verify["differences"] == [])
        let unknown = try daemon.error("projections.rebuild", ["name": "nope"])
        #expect(unknown.code == -32001)
        // An empty name is a malformed call (the schema's minLength 1), not an unknown projection.
        for method in ["projections.rebuild", "projections.verify"] {
            let empty = try daemon.error(method, ["name": ""])
            #expect(empty.code == -32602 && empty.data("field")?.stringValue == "name", "\(empty)")
        }
    }

    /// A rebuild completes while 16 clients keep writing: the catch-up applies the last events and swaps
    /// inside one writer command once few remain (3–6 catch-up chunks here). It chased the head, about
    /// 30 events behind: 122 chunks here, and 3,070 over a minute in an audit on a busier machine, since
    /// every chunk read outside the writer was behind by the time the writer applied it.
    @Test func aRebuildCompletesWhileWritersKeepWriting() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 3000)
        let rebuilt = Atomic<Bool>(false)
        let started = Atomic<Bool>(false)
        let asked = Mutex<(before: Date, answered: Date)?>(nil)
        let seen = Mutex<[JSONValue]>([])
        let writers = try onThreads(17) { index -> Int in
            let client = try daemon.client()
            if index == 16 {
                // The 17th thread starts the rebuild once the writers are under way, and watches it.
                usleep(200_000)
                let before = Date()
                try client.call("projections.rebuild", ["name": "contacts"])
                asked.withLock { $0 = (before, Date()) }
                started.store(true, ordering: .relaxed)
                let deadline = Date().addingTimeInterval(120)
                while Date() < deadline {
                    let status = try client.call("projections.status")["projections"]?.arrayValue?.first
                    if let rebuild = status?["rebuild"] { seen.withLock { $0.append(rebuild) } }
                    if status?.string("state") == "ready", daemon.log().contains("projection rebuild complete") { break }
                    usleep(20_000)
                }
                rebuilt.store(true, ordering: .relaxed)
                return 0
            }
            var written = 0
            while !rebuilt.load(ordering: .relaxed) {
                try client.call("contacts.create", ["name": .string("during\(index)-\(written)")])
                written += 1
            }
            return written
        }
        let rebuildStarted = started.load(ordering: .relaxed)
        #expect(rebuildStarted)
        #expect(daemon.log().contains("projection rebuild complete"), "the rebuild did not complete while the writers wrote")
        let chunks = self.loggedPositions(daemon, "projection rebuild complete", key: "catch_up.chunks")
        #expect(chunks.count == 1 && (chunks.first ?? .max) < 30, "\(chunks)")
        // The status names the phase; no ETA while copying, where events left say nothing of the time left.
        let samples = seen.withLock { $0 }
        #expect(!samples.isEmpty)
        for sample in samples {
            let phase = sample.string("phase")
            #expect(["staging", "copying", "catching_up"].contains(phase), "\(sample)")
            if phase == "copying" { #expect(sample["eta_s"] == .null, "\(sample)") }
        }
        // The start is when the rebuild was asked for, the same in every answer: the rebuild's first command
        // took a time of its own, a few milliseconds later, and the figure moved.
        let startTimes = Set(samples.compactMap { $0.string("started_on") })
        #expect(startTimes.count == 1, "\(startTimes)")
        let request = try #require(asked.withLock { $0 })
        let startedOn = try #require(startTimes.first.flatMap { Timestamp(rfc3339: $0) })
        let slack = 0.001
        #expect(startedOn.date >= request.before.addingTimeInterval(-slack) && startedOn.date <= request.answered.addingTimeInterval(slack), "\(startedOn) \(request)")
        let status = try daemon.waitUntilReady()
        #expect(status.int("position") == status.int("head_seq"))
        #expect(try daemon.call("contacts.count", ["query": "name ~ during"]).int("total") == Int64(writers.reduce(0, +)))
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// A rebuild is shown from its start, staging: a second one showed for a moment the phase the first
    /// ended in (`catching_up`, at position 0).
    @Test func aSecondRebuildIsShownFromItsFirstPhase() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 4_000)
        let client = try daemon.client()
        for round in 0..<3 {
            try client.call("projections.rebuild", ["name": "contacts"])
            let status = try #require(try client.call("projections.status")["projections"]?.arrayValue?.first)
            if status.string("state") == "rebuilding" {
                #expect(status["rebuild"]?.string("phase") == "staging", "round \(round): \(status)")
            }
            try daemon.waitUntilReady()
        }
    }

    /// The `key` (by default `ledger.seq`) of each log line with `message`, in order.
    func loggedPositions(_ daemon: DaemonHarness, _ message: String, key: String = "ledger.seq") -> [Int64] {
        daemon.log().split(separator: "\n").filter { $0.contains(message) }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int64($0.dropFirst(key.count + 1)) }
        }
    }

    /// How a test interrupts a rebuild.
    enum Interruption: String, CaseIterable, Sendable {
        case kill9, sigterm
    }

    /// A daemon with a number field and 300 archived contacts with a field change each (seqs 2–301), then
    /// 16,000 more contacts; a client, and the 300 contacts' uuids.
    func doomedContactsBeforeManyOthers() throws -> (DaemonHarness, RPCClient, [String]) {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let client = try daemon.client()
        var doomed: [String] = []
        for index in 0..<300 {
            let created = try client.call("contacts.create", ["fields": ["age": .string("\(index)")], "status": "archived"])
            doomed.append(try #require(created.string("uuid")))
        }
        try daemon.populate(count: 16_000)
        return (daemon, client, doomed)
    }

    /// Deletes `uuids` in one batch line and expects every deletion answered.
    static func delete(_ uuids: [String], through client: RPCClient) throws {
        let deletes: [JSONValue] = uuids.enumerated().map { index, uuid in
            ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.delete", "params": ["uuid": .string(uuid)]]
        }
        try client.send(raw: JSONLine.encode(JSONValue.array(deletes)) + [10])
        let answers = try client.readValue().arrayValue ?? []
        #expect(answers.count == uuids.count && answers.allSatisfy { $0["result"] != nil })
    }

    /// Contacts deleted while `projections.verify` builds its scratch tables, after it has replayed their
    /// field changes: the scratch index drops those entries too, as the live one does, and the answer shows
    /// no difference (found by this stop's soak audit: verifications under writes that deleted contacts
    /// reported `rm.audit` differences, gone once the writes stopped).
    @Test func contactsDeletedDuringAVerificationAreNoDifference() throws {
        let (daemon, client, doomed) = try self.doomedContactsBeforeManyOthers()
        let verifier = try daemon.client()
        try verifier.send(raw: JSONLine.encode(["jsonrpc": "2.0", "id": 1, "method": "projections.verify", "params": ["name": "contacts"]] as JSONValue) + [10])
        // The scratch tables replay 250 events per writer command: past the 300 within a few.
        usleep(500_000)
        try Self.delete(doomed, through: client)
        let verified = try verifier.readValue()
        #expect(verified["result"]?["differences"] == [], "\(verified)")
        #expect((verified["result"]?.int("checked_through_seq") ?? 0) > 16_300, "the deletions came before the verification ended: \(verified)")
    }

    /// Contacts deleted while a rebuild runs, after it has replayed their field changes: the rebuilt
    /// audit index drops those changes' field entries, as the live one does, so it equals one rebuilt
    /// from the erased log. It kept them (`projections.verify` found them after the swap, for good).
    @Test func contactsDeletedDuringARebuildLeaveNoAuditEntries() throws {
        let (daemon, client, doomed) = try self.doomedContactsBeforeManyOthers()
        try daemon.call("projections.rebuild", ["name": "contacts"])
        // Once the rebuild has replayed past them, they are deleted.
        let deadline = Date().addingTimeInterval(60)
        func replayedPast(_ seq: Int64) throws -> Bool {
            let status = try daemon.call("projections.status")["projections"]?.arrayValue?.first
            return status?.string("state") != "rebuilding" || (status?["rebuild"]?.int("position") ?? 0) > seq
        }
        while try !replayedPast(1_000), Date() < deadline { usleep(2_000) }
        try Self.delete(doomed, through: client)
        _ = try daemon.waitUntilReady()
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        #expect(try daemon.call("audit.changes", ["field": "age", "limit": 1000])["items"]?.arrayValue?.isEmpty == true)
    }

    /// Contacts deleted while the read models are compacted online after a rebuild: the copy, brought up
    /// to date from the log, drops the field entries of the payloads erased meanwhile, as the live index
    /// did. It kept them (an erasure is no log event), and once it was swapped in `projections.verify`
    /// found `rm.audit` differences for good (a black-box audit blamed the rebuild: every contact behind
    /// them had been deleted between the compaction's copy and its swap).
    @Test func contactsDeletedDuringAnOnlineCompactionLeaveNoAuditEntries() throws {
        let daemon = try DaemonHarness(arguments: ["--read-model-compaction-min-free", "1MiB"])
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let client = try daemon.client()
        var doomed: [String] = []
        while doomed.count < 1_000 {
            let creates: [JSONValue] = (0..<200).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create",
                 "params": ["fields": ["age": .string("\(index)")], "status": "archived"]]
            }
            try client.send(raw: JSONLine.encode(JSONValue.array(creates)) + [10])
            doomed += try client.readValue().arrayValue?.compactMap { $0["result"]?.string("uuid") } ?? []
        }
        try #require(doomed.count == 1_000)
        try daemon.populate(count: 10_000)
        func compactions() -> [Substring] { daemon.log().split(separator: "\n").filter { $0.contains("read models compacted online") } }
        // From the rebuild's catch-up until the compaction that follows its swap is logged, one deletion
        // after another: a few fall between the copy and its swap. A compaction that took none (it came
        // before the first) is tried again after another rebuild.
        var deleted = 0
        var replayed = 0
        var rebuilds = 0
        while replayed == 0, rebuilds < 3 {
            rebuilds += 1
            let compacted = compactions().count
            try daemon.call("projections.rebuild", ["name": "contacts"])
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let status = try daemon.call("projections.status")["projections"]?.arrayValue?.first
                if status?.string("state") != "rebuilding" || status?["rebuild"]?.string("phase") == "catching_up" { break }
                usleep(1_000)
            }
            while deleted < doomed.count, compactions().count == compacted, Date() < deadline {
                try client.call("contacts.delete", ["uuid": .string(doomed[deleted])])
                deleted += 1
            }
            // Every contact deleted first, on a slow machine: the compaction is still to come.
            while compactions().count == compacted, Date() < deadline { usleep(10_000) }
            // Nothing but the deletions writes: the events the copy replayed are deletions after its snapshot.
            let line = try #require(compactions().dropFirst(compacted).first, "no compaction after rebuild \(rebuilds)")
            let number = { (key: String) -> Int in
                line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) } ?? 0
            }
            replayed = number("catch_up.events") + number("writer_catch_up.events")
        }
        try #require(replayed > 0, "no deletion came between a compaction's copy and its swap (\(deleted) deletions)")
        let verified = try daemon.call("projections.verify", ["name": "contacts"])
        #expect(verified["differences"] == [], "\(verified)")
    }

    /// A verification that begins while the read models are compacted online, after the copy's snapshot
    /// and before its swap: its mark was in the replaced part alone, so deletions after the swap were not
    /// recorded for it and showed as `rm.audit` differences (carried since stop 53, seen by an audit
    /// helper). The swap now gives the copy the replaced part's mark. The copy takes tens of milliseconds
    /// here, so each try starts its verification a little later after the rebuild's swap.
    @Test func aVerificationBegunDuringAnOnlineCompactionRecordsLaterDeletions() throws {
        let daemon = try DaemonHarness(arguments: ["--read-model-compaction-min-free", "1MiB"])
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let client = try daemon.client()
        let delays: [UInt32] = [3_000, 8_000, 13_000, 0]
        var doomed: [[String]] = []
        for _ in delays {
            var some: [String] = []
            for index in 0..<100 {
                let created = try client.call("contacts.create", ["fields": ["age": .string("\(index)")], "status": "archived"])
                some.append(try #require(created.string("uuid")))
            }
            doomed.append(some)
        }
        try daemon.populate(count: 16_000)
        func compactions() -> Int { daemon.log().split(separator: "\n").count { $0.contains("read models compacted online") } }
        for (attempt, delay) in delays.enumerated() {
            let compacted = compactions()
            try daemon.call("projections.rebuild", ["name": "contacts"])
            let deadline = Date().addingTimeInterval(60)
            while try daemon.call("projections.status")["projections"]?.arrayValue?.first?.string("state") == "rebuilding", Date() < deadline {
                usleep(500)
            }
            usleep(delay)
            let verifier = try daemon.client()
            let verify: JSONValue = ["jsonrpc": "2.0", "id": 1, "method": "projections.verify", "params": ["name": "contacts"]]
            try verifier.send(raw: JSONLine.encode(verify) + [10])
            while compactions() == compacted, Date() < deadline { usleep(2_000) }
            // The scratch tables replay the doomed contacts, the log's first, again after the swap: then
            // they are deleted, while the verification goes on through the 16,000 others.
            usleep(300_000)
            let before = try ContactKit.head(daemon)
            try Self.delete(doomed[attempt], through: client)
            let verified = try verifier.readValue()
            #expect(verified["result"]?["differences"] == [], "try \(attempt), \(delay) µs: \(verified)")
            #expect((verified["result"]?.int("checked_through_seq") ?? 0) > before, "the verification ended before the deletions: \(verified)")
        }
    }

    @Test(arguments: Interruption.allCases)
    func anInterruptedRebuildResumesFromItsLastCommit(_ interruption: Interruption) throws {
        // Before a kill, staging commits every tenth of a second; a SIGTERM drops what staging applied
        // since its last commit instead of writing it back (the write-back of a long transaction took
        // seconds, and the stop waited for it: 11-29 s on 400,000 events). Staging commits every 60 s by
        // default, so the SIGTERM comes before its first commit.
        let daemon = try DaemonHarness(arguments: interruption == .kill9 ? ["--rebuild-commit-seconds", "0.1"] : [])
        try daemon.populate(count: 16_000)
        try daemon.call("projections.rebuild", ["name": "contacts"])
        // Interrupted once staging has replayed part of the log, before it has staged all of it.
        let deadline = Date().addingTimeInterval(60)
        switch interruption {
        case .kill9:
            while self.loggedPositions(daemon, "staging committed").isEmpty, Date() < deadline { usleep(5_000) }
            daemon.kill()
        case .sigterm:
            func staging() throws -> Bool {
                let status = try daemon.call("projections.status")["projections"]?.arrayValue?.first
                return status?.string("state") == "rebuilding" && (status?["rebuild"]?.int("position") ?? 0) > 0
            }
            while try !staging(), Date() < deadline { usleep(5_000) }
            #expect(daemon.stop() == 0)
        }
        let rebuildLines = daemon.log().split(separator: "\n").filter { $0.contains("rebuild") }.joined(separator: "\n")
        let committed = self.loggedPositions(daemon, "staging committed").last
        switch interruption {
        case .kill9: #expect(committed != nil, "\(rebuildLines)")
        case .sigterm: #expect(committed == nil, "a stop commits nothing more: \(rebuildLines)")
        }
        // Interrupted mid-staging: a SIGTERM does not wait for the rebuild to end.
        #expect(self.loggedPositions(daemon, "rebuild staged").isEmpty, "\(rebuildLines)")
        try daemon.start()
        _ = try daemon.waitUntilReady()
        if let committed {
            // The restart went on from the last commit (or a later one the kill left unlogged), not from 0.
            let resumed = try #require(self.loggedPositions(daemon, "staging resumed").first)
            #expect(resumed >= committed && resumed > 0)
        }
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 16_000)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        #expect(try daemon.call("ledger.verify")["verified"] == true)
    }

    /// A log written before `group_evaluated` existed marks no evaluation's end, and a replica following it
    /// would show its smart groups `evaluating` for good: the first start of this version appends the mark
    /// for each smart group not being evaluated, once.
    @Test func smartGroupsEvaluatedBeforeTheirMarkGetItOnce() throws {
        let daemon = try DaemonHarness()
        try daemon.call("contacts.create", ["name": "p1"])
        #expect(daemon.stop() == 0)
        // A smart group as an older version left it: created and evaluated, no mark.
        let group = "6f1d2c3b-0000-4000-8000-00000000abcd"
        do {
            let environment = try Environment(directory: daemon.directory, rebuildableSubdirectory: "readmodels")
            let log = try EventLog.open(in: environment, indexing: .ledgerHeaders)
            _ = try environment.write { txn in
                try log.append(to: "workspace/main", expectedVersion: nil, in: txn) { position in
                    let header: JSONValue = [
                        "seq": .integer(Int64(position.seq)), "id": "0b0e7c1e-0000-4000-8000-000000000002",
                        "stream": "workspace/main", "version": .integer(Int64(position.version)),
                        "type": "group_created", "schema_version": 1, "workspace": "main",
                        "created_on": "2026-11-25T00:00:00.000000Z", "actor": .null, "peer": .null,
                    ]
                    return EncodedRecord(header: JSONLine.encode(header), payload: Array(#"{"name":"Ps","query":"name ~ p1","uuid":"\#(group)"}"#.utf8))
                }
            }
        }
        func marks() throws -> [String?] {
            (try daemon.call("events.read", ["types": ["group_evaluated"]])["items"]?.arrayValue ?? []).map { $0["data"]?.string("uuid") }
        }
        try daemon.start()
        // Marked by the group populator as it starts, beside the daemon serving: a loaded machine (a clean
        // clone's run beside release builds) answered before it had.
        let deadline = Date().addingTimeInterval(60)
        while try marks().isEmpty, Date() < deadline { usleep(50_000) }
        #expect(try marks() == [group])
        #expect(daemon.log().contains("smart group evaluations marked in the log") && daemon.log().contains("groups.marked=1"), "\(daemon.log())")
        #expect(try daemon.call("groups.list")["groups"]?.arrayValue?.first?.string("status") == "ready")
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try marks() == [group])
        #expect(!daemon.log().contains("smart group evaluations marked"), "\(daemon.log())")
        // A group created now gets its mark from its own evaluation, and only that one.
        let fresh = try #require(try daemon.call("groups.create", ["name": "Qs", "query": "name ~ qq"]).string("uuid"))
        _ = try QueryAndGroupTests.waitUntilReady(daemon, fresh)
        #expect(try marks() == [group, fresh])
        #expect(try daemon.call("ledger.verify")["verified"] == true)
    }

    /// Appends an event (schema version 1) to a stopped daemon's log, straight into LMDB, as the second
    /// of `contact`'s stream: what another version, or another clock, wrote.
    static func appendToStoppedLog(_ daemon: DaemonHarness, contact: String, type: String, createdOn: String, actor: String, payload: String) throws {
        let environment = try Environment(directory: daemon.directory, rebuildableSubdirectory: "readmodels")
        let log = try EventLog.open(in: environment, indexing: .ledgerHeaders)
        _ = try environment.write { txn in
            try log.append(to: "contact/\(contact)", expectedVersion: 1, in: txn) { position in
                let header: JSONValue = [
                    "seq": .integer(Int64(position.seq)), "id": .string(UUID().uuidString.lowercased()),
                    "stream": .string("contact/\(contact)"), "version": .integer(Int64(position.version)),
                    "type": .string(type), "schema_version": 1, "workspace": "main",
                    "created_on": .string(createdOn), "actor": .string(actor), "peer": .null,
                ]
                return EncodedRecord(header: JSONLine.encode(header), payload: Array(payload.utf8))
            }
        }
    }

    @Test func eventsInAnOldSchemaAreUpcastWhenReplayed() throws {
        let daemon = try DaemonHarness()
        let contact = try daemon.call("contacts.create", ["name": "Old", "urns": ["ext:old"]])
        let uuid = try #require(contact.string("uuid"))
        #expect(daemon.stop() == 0)
        // Append a version-1 `contact_status_changed` (RapidPro's one-letter code) straight into the log.
        try Self.appendToStoppedLog(
            daemon, contact: uuid, type: "contact_status_changed", createdOn: "2026-11-25T00:00:00.000000Z", actor: "migration",
            payload: #"{"status":"B"}"#
        )
        try daemon.start()
        let upcast = try daemon.call("contacts.get", ["uuid": .string(uuid)])
        #expect(upcast.string("status") == "blocked")
        #expect(upcast.int("version") == 2)
        let served = try #require(try daemon.call("events.read", ["types": ["contact_status_changed"]])["items"]?.arrayValue?.first)
        #expect(served.int("schema_version") == 2)
        #expect(served["data"]?.string("status") == "blocked")
        #expect(try daemon.call("ledger.verify")["verified"] == true)
        // A full rebuild reads it the same way.
        try daemon.call("projections.rebuild", ["name": "contacts"])
        _ = try daemon.waitUntilReady()
        #expect(try daemon.call("contacts.get", ["uuid": .string(uuid)]).string("status") == "blocked")
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// Events are stamped after the log's last one, also when the clock is behind it after a restart (a
    /// clock stepped back): the next event was stamped before the log's last, and searches by time, which
    /// rely on times growing with seqs, left it out. An event stamped an hour ahead stands for the clock.
    @Test func eventsAreStampedAfterTheLogsLastAcrossARestart() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["name": "Before"]).string("uuid"))
        #expect(daemon.stop() == 0)
        let ahead = Timestamp(microseconds: Timestamp.now.microseconds + 3_600_000_000)
        try Self.appendToStoppedLog(daemon, contact: uuid, type: "contact_name_changed", createdOn: ahead.description, actor: "clock", payload: #"{"name":"Ahead"}"#)
        try daemon.start()
        let after = try daemon.call("contacts.create", ["name": "After"])
        let times = (try daemon.call("events.read")["items"]?.arrayValue ?? []).compactMap { $0.string("created_on") }
        #expect(times.count == 3)
        #expect(times == times.sorted(), "\(times)")
        #expect(try #require(after.string("created_on")) > ahead.description)
        // A search by time finds the last event after the one stamped ahead.
        let found = try daemon.call("audit.changes", ["from": .string(ahead.description)])["items"]?.arrayValue ?? []
        #expect(found.compactMap { $0.int("seq") } == [after.int("seq")].compactMap { $0 })
    }

    /// The generation a rebuild swaps out is emptied afterwards, a slice per writer command, not in the
    /// swap's transaction; a stop in between leaves the rest to the next start.
    @Test func theSwappedOutGenerationIsEmptiedTableByTableAcrossARestart() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 3_000)
        let before = try daemon.call("contacts.get", ["urn": "ext:p2999"])
        try daemon.call("projections.rebuild", ["name": "contacts"])
        _ = try daemon.waitUntilReady()
        #expect(daemon.stop() == 0)
        try daemon.start()
        // Whatever the stop left, the start finishes; the answering generation is untouched.
        var emptied = false
        let deadline = Date().addingTimeInterval(30)
        while !emptied, Date() < deadline {
            usleep(200_000)
            #expect(daemon.stop() == 0)
            do {
                let environment = try Environment(directory: daemon.directory + "/readmodels")
                let meta = try #require(try environment.openTables(["ledger.readmodels"])["ledger.readmodels"])
                let active = try environment.read { txn throws in
                    (try txn.get(meta, key: Array("active_generation".utf8))).flatMap { BigEndian.uint64($0) } ?? 0
                }
                let old = active == 0 ? 1 : 0
                let tables = try environment.openTables(Projector.tableNames(generation: old))
                let counts = try environment.read { txn throws in try tables.values.map { try txn.count($0) } }
                let pending = try environment.read { txn throws in try txn.get(meta, key: Array("dropping_generation".utf8)) }
                emptied = counts.allSatisfy { $0 == 0 } && pending == nil
            }
            try daemon.start()
        }
        #expect(emptied)
        #expect(try daemon.call("contacts.get", ["urn": "ext:p2999"]) == before)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// The generation a rebuild swaps out leaves its pages free in the read models' file. Once it is
    /// emptied, the read models are compacted online: a copy, brought up to date from the log and swapped
    /// in between two writer batches, while clients keep writing and reading. Nothing written meanwhile
    /// is lost (read models and stream index), the file shrinks, and a restart trusts it.
    @Test func theReadModelsAreCompactedOnlineAfterARebuild() throws {
        let daemon = try DaemonHarness(arguments: ["--read-model-compaction-min-free", "1MiB"])
        try daemon.populate(count: 6_000)
        let before = try daemon.call("contacts.get", ["urn": "ext:p4321"])
        #expect(!daemon.log().contains("compacted online"))
        try daemon.call("projections.rebuild", ["name": "contacts"])
        // Four clients write through the rebuild, the drop and the compaction, and read back each write.
        let created = try onThreads(4) { index -> [String] in
            let client = try daemon.client()
            var uuids: [String] = []
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let contact = try client.call("contacts.create", ["name": .string("during\(index)-\(uuids.count)"), "urns": [.string("ext:d\(index)-\(uuids.count)")]])
                let uuid = try #require(contact.string("uuid"))
                #expect(try client.call("contacts.get", ["uuid": .string(uuid)]).string("uuid") == uuid)
                uuids.append(uuid)
                if uuids.count % 20 == 0, daemon.log().contains("read models compacted online") { break }
            }
            return uuids
        }
        let log = daemon.log()
        let line = try #require(log.split(separator: "\n").first { $0.contains("read models compacted online") })
        let number = { (key: String) -> Int? in
            line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }
        let bytesBefore = try #require(number("bytes_before"))
        let bytesAfter = try #require(number("bytes_after"))
        #expect(bytesAfter * 4 < bytesBefore * 3, "\(line)")
        #expect(!log.contains("not compacted online"))

        let all = created.flatMap { $0 }
        #expect(try daemon.call("contacts.count", ["query": "name ~ during"]).int("total") == Int64(all.count))
        #expect(try daemon.call("contacts.get", ["urn": "ext:p4321"]) == before)
        // The stream index took what was written during the copy: each contact's history and version.
        for uuid in [all.first, all.last].compactMap({ $0 }) {
            #expect(try daemon.call("contacts.history", ["uuid": .string(uuid)])["items"]?.arrayValue?.count == 1)
            let updated = try daemon.call(
                "contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "name", "name": "renamed"]], "expected_version": 1]
            )
            #expect(updated.int("version") == 2)
        }
        // Measured before the verification, whose scratch copy of the read models is committed into the
        // same file (and left there as free pages).
        let size = try #require(try FileManager.default.attributesOfItem(atPath: daemon.directory + "/readmodels/data.mdb")[.size] as? NSNumber).intValue
        #expect(size < bytesBefore)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        #expect(try daemon.call("ledger.verify")["verified"] == true)

        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(!daemon.log().contains("discarded"))
        #expect(try daemon.call("contacts.count", ["query": "name ~ during OR name ~ renamed"]).int("total") == Int64(all.count))
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    @Test func aReadModelOfAnotherVersionIsRebuiltOnStart() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 500)
        let before = try daemon.call("contacts.get", ["urn": "ext:p42"])
        #expect(daemon.stop() == 0)
        try self.markReadModelsWrittenByVersionOne(daemon)
        try daemon.start()
        let status = try daemon.waitUntilReady()
        #expect(status.int("version") == status.int("stored_version"))
        #expect(try daemon.call("contacts.get", ["urn": "ext:p42"]) == before)
    }

    /// Read models that lag the log at a start that finds a rebuild to do (restored from a backup taken
    /// during a rebuild, which copies them first; a stop between the log's commit and theirs) are brought
    /// to the head before the daemon serves: they answer until the rebuilt ones are swapped in. They were
    /// not (operations audit, high): the contacts acknowledged last were not found until the swap, and a
    /// new contact was given one of their URNs, in the log for good.
    @Test func laggingReadModelsCatchUpBeforeARebuildAtStart() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 16_000)
        #expect(daemon.stop() == 0)
        let readModels = daemon.directory + "/readmodels"
        let copied = daemon.directory + "/readmodels-before"
        try FileManager.default.copyItem(atPath: readModels, toPath: copied)
        try daemon.start()
        let late = try (0..<3).map { index in
            try #require(try daemon.call("contacts.create", ["name": "late", "urns": [.string("ext:late\(index)")]]).string("uuid"))
        }
        #expect(daemon.stop() == 0)
        // The read models as they were before the three creates, written by an older version: a rebuild.
        try FileManager.default.removeItem(atPath: readModels)
        try FileManager.default.moveItem(atPath: copied, toPath: readModels)
        try self.markReadModelsWrittenByVersionOne(daemon)
        try daemon.start()
        #expect(daemon.log().contains("read models caught up with the log"), "\(daemon.log())")
        for (index, uuid) in late.enumerated() {
            #expect(try daemon.call("contacts.get", ["urn": .string("ext:late\(index)")]).string("uuid") == uuid)
        }
        let taken = try daemon.error("contacts.create", ["name": "again", "urns": ["ext:late0"]])
        #expect(taken.code == -32002)
        #expect(taken.data("reason") == "urn_taken")
        try daemon.waitUntilReady()
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 16_003)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// `last_rebuilt_on` stays while a later rebuild runs: the last rebuild that completed is still the
    /// last one (it vanished from the status until the new one completed: recheck audit).
    @Test func theLastRebuildIsShownWhileAnotherRuns() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 8_000)
        try daemon.call("projections.rebuild", ["name": "contacts"])
        let last = try #require(try daemon.waitUntilReady().string("last_rebuilt_on"))
        try daemon.call("projections.rebuild", ["name": "contacts"])
        let during = try #require(try daemon.call("projections.status")["projections"]?.arrayValue?.first)
        #expect(during.string("state") == "rebuilding")
        #expect(during.string("last_rebuilt_on") == last)
        #expect(try daemon.waitUntilReady().string("last_rebuilt_on") != last)
    }

    /// Marks the stopped daemon's read models (the data directory's rebuildable part) as written by version
    /// 1: its next start rebuilds them, online, while they answer.
    func markReadModelsWrittenByVersionOne(_ daemon: DaemonHarness) throws {
        let environment = try Environment(directory: daemon.directory + "/readmodels")
        let meta = try #require(try environment.openTables(["rm.meta"])["rm.meta"])
        try environment.write { txn in
            let state = try #require(try txn.get(meta, key: Array("state".utf8)))
            try txn.put(meta, key: Array("state".utf8), value: BigEndian.bytes(UInt64(1)) + Array(state[8...]))
        }
    }

    /// Runs `contactledgerd rebuild --data-dir --rebuild-commit-seconds 0.1` on the daemon's directory and
    /// sends it `signal` once its progress shows `position` or more applied: its exit status and
    /// termination reason, and what it wrote on stderr.
    func interruptedOfflineRebuild(_ daemon: DaemonHarness, signal: Int32, atPosition position: Int) throws -> (ChildProcess, String) {
        let process = ChildProcess()
        process.executableURL = DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd")
        process.arguments = ["rebuild", "--data-dir", daemon.directory, "--rebuild-commit-seconds", "0.1"]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        var text = ""
        var sent = false
        while true {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            // Progress lines (stderr is not a terminal): `███░░ 27% 8192/30000 · 6588 events/s`.
            let applied = text.split(separator: "\n").compactMap { line in
                line.split(separator: " ").first { $0.contains("/") }.flatMap { Int($0.split(separator: "/").first ?? "") }
            }
            if !sent, let last = applied.last, last >= position {
                kill(process.processIdentifier, signal)
                sent = true
            }
        }
        process.waitUntilExit()
        #expect(sent, "the rebuild ended before it could be interrupted: \(text)")
        return (process, text)
    }

    /// An offline rebuild stopped by Ctrl-C (which commits what it applied) or killed (which loses what it
    /// applied since its last commit) is gone on with by the next run, not started over, and the read
    /// models it swaps in are right; until then the daemon would answer from the old ones.
    @Test(arguments: [SIGINT, SIGKILL])
    func anInterruptedOfflineRebuildGoesOnFromWhereItStopped(_ signal: Int32) throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 16_000)
        let before = try daemon.call("contacts.get", ["urn": "ext:p15999"])
        #expect(daemon.stop() == 0)
        // Progress at 8,192 means the first run of 4,096 records was committed before (every run takes
        // more than the 0.1 s between commits here); a SIGINT commits the open transaction as well.
        let (first, errors) = try self.interruptedOfflineRebuild(daemon, signal: signal, atPosition: 8_192)
        if signal == SIGINT {
            #expect(first.terminationReason == .exit && first.terminationStatus == 130, "\(errors)")
            #expect(errors.contains("rebuild interrupted at seq ") && errors.contains(" of 16000"), "\(errors)")
        } else {
            #expect(first.terminationReason == .uncaughtSignal)
        }
        let (status, output, progress) = try self.offlineRebuild(daemon)
        #expect(status == 0)
        // The bar's last line, then what follows the last event is said.
        #expect(progress.contains("100% 16000/16000") && progress.hasSuffix("every event applied; committing and swapping in the rebuilt read models\n"), "\(progress)")
        // `rebuilt the read models from 11904 events (going on from seq 4096) in 1.2 s`
        let words = output.split(separator: " ")
        let replayed = try #require(words.firstIndex(of: "from").flatMap { Int(words[$0 + 1]) })
        let resumedFrom = try #require(words.firstIndex(of: "seq").flatMap { Int(words[$0 + 1].dropLast()) }, "\(output)")
        #expect(resumedFrom >= (signal == SIGINT ? 8_192 : 4_096) && resumedFrom < 16_000)
        #expect(replayed + resumedFrom == 16_000)
        try daemon.start()
        #expect(try daemon.call("contacts.get", ["urn": "ext:p15999"]) == before)
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 16_000)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// A daemon started after an interrupted offline rebuild answers from the read models as they were and
    /// empties the half-built ones (it may take writes they would miss), so the next offline rebuild
    /// starts over.
    @Test func aDaemonStartedAfterAnInterruptedOfflineRebuildMakesTheNextStartOver() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 16_000)
        #expect(daemon.stop() == 0)
        let (first, errors) = try self.interruptedOfflineRebuild(daemon, signal: SIGINT, atPosition: 4_096)
        #expect(first.terminationStatus == 130, "\(errors)")
        try daemon.start()
        let changed = try #require(try daemon.call("contacts.get", ["urn": "ext:p7"]).string("uuid"))
        try daemon.call("contacts.modify", ["uuid": .string(changed), "modifiers": [["type": "name", "name": "Seven"]]])
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        #expect(daemon.stop() == 0)
        let (status, output, _) = try self.offlineRebuild(daemon)
        #expect(status == 0)
        #expect(output.hasPrefix("rebuilt the read models from 16001 events in "), "\(output)")
        try daemon.start()
        #expect(try daemon.call("contacts.get", ["urn": "ext:p7"]).string("name") == "Seven")
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    @Test func anOfflineRebuildRefusesARunningDaemonAndRebuildsAStoppedOne() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 1000)
        let before = try daemon.call("contacts.get", ["urn": "ext:p77"])
        #expect(try self.offlineRebuild(daemon).status != 0)
        #expect(daemon.stop() == 0)
        let (status, text, _) = try self.offlineRebuild(daemon, throughConfigFile: true)
        #expect(status == 0)
        #expect(text.contains("1000 events"))
        try daemon.start()
        #expect(try daemon.call("contacts.get", ["urn": "ext:p77"]) == before)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }
}
