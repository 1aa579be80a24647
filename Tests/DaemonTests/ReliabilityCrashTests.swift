// ContactLedger — daemon tests: crash safety.
import Foundation
import TestSupport
import RPC
import Testing

/// SIGKILL at random moments under continuous writes: what was acknowledged survives, nothing
/// unacknowledged is half there, the read models equal a rebuild and the chain verifies.
///
/// `CONTACTLEDGER_CRASH_CYCLES` sets the number of kills (default 20; `Tools/crash-harness.sh` runs
/// 200) and `CONTACTLEDGER_CRASH_REPORT` a file the figures are appended to.
@Suite(.ownThreads, .serialized)
struct ReliabilityCrashTests {
    static let cycles = ProcessInfo.processInfo.environment["CONTACTLEDGER_CRASH_CYCLES"].flatMap { Int($0) } ?? 20
    static let writers = 4

    /// What a contact must look like, as its last acknowledged answer showed it.
    struct Acknowledged {
        var version: Int64
        var name: String
    }

    /// Every acknowledged answer, shared by the writer threads.
    final class Book: @unchecked Sendable {
        // @unchecked: every access holds `lock`.
        private let lock = NSLock()
        private var contacts: [String: Acknowledged] = [:]
        private var owned: [Int: [String]] = [:]
        private(set) var acknowledged = 0
        private(set) var unexpectedErrors: [String] = []
        /// Contacts acknowledged (created or modified) since the last check.
        private var fresh: Set<String> = []

        func acknowledge(_ answer: JSONValue, writer: Int, created: Bool) {
            guard let uuid = answer.string("uuid"), let version = answer.int("version"), let name = answer.string("name") else {
                self.unexpected("malformed answer \(answer)")
                return
            }
            self.lock.lock()
            defer { self.lock.unlock() }
            self.acknowledged += 1
            if created { self.owned[writer, default: []].append(uuid) }
            if version >= (self.contacts[uuid]?.version ?? 0) { self.contacts[uuid] = Acknowledged(version: version, name: name) }
            self.fresh.insert(uuid)
        }

        func unexpected(_ text: String) {
            self.lock.lock()
            self.unexpectedErrors.append(text)
            self.lock.unlock()
        }

        func owned(by writer: Int) -> [String] {
            self.lock.lock()
            defer { self.lock.unlock() }
            return self.owned[writer] ?? []
        }

        func snapshot() -> (all: [String: Acknowledged], fresh: Set<String>) {
            self.lock.lock()
            defer { self.lock.unlock() }
            let result = (self.contacts, self.fresh)
            self.fresh = []
            return result
        }
    }

    /// Counts of one run, for the closing note.
    struct Figures {
        var cycles = 0
        var acknowledgedCommands = 0
        var acknowledgedChecks = 0
        var losses = 0
        var halfApplied = 0
        var unacknowledgedButPresent = 0
        var projectionComparisons = 0
    }

    @Test(.timeLimit(.minutes(Self.cycles > 30 ? 120 : 3)))
    func acknowledgedWritesSurviveRandomKills() throws {
        let seed = SeededGenerator.announcedSeed("crash test")
        var random = SeededGenerator(seed: seed)
        let daemon = try DaemonHarness()
        for key in ["f1", "f2", "f3"] { try daemon.call("fields.create", ["key": .string(key), "type": "text"]) }
        let book = Book()
        var figures = Figures()

        for cycle in 0..<Self.cycles {
            let stop = StopFlag()
            let writerSeeds = (0..<Self.writers).map { _ in random.next() }
            // Kill anywhere from "before the first commit" to "deep in a stream of batches".
            let delay = UInt32.random(in: 0...400_000, using: &random)
            let killer = Thread {
                usleep(delay)
                daemon.kill()
                stop.set()
            }
            killer.start()
            _ = try onThreads(Self.writers) { writer in
                Self.write(daemon: daemon, writer: writer, cycle: cycle, seed: writerSeeds[writer], book: book, stop: stop)
            }
            while daemon.process?.isRunning == true || !stop.isSet { usleep(1000) }
            try daemon.start()
            // A rebuild comparison costs a replay of the whole log: every cycle in the CI form, every
            // tenth (and the last) in long harness runs.
            let compareProjections = Self.cycles <= 30 || cycle % 10 == 9 || cycle == Self.cycles - 1
            try Self.check(daemon: daemon, book: book, cycle: cycle, compareProjections: compareProjections, figures: &figures)
            figures.cycles += 1
            if Self.cycles > 30, cycle % 10 == 9 {
                print("crash-harness: progress cycles=\(figures.cycles) acknowledged_checks=\(figures.acknowledgedChecks) losses=\(figures.losses) half_applied=\(figures.halfApplied)")
            }
            if figures.losses + figures.halfApplied > 0 { break }
        }
        figures.acknowledgedCommands = book.acknowledged
        #expect(book.unexpectedErrors.isEmpty, "unexpected answers: \(book.unexpectedErrors.prefix(5))")
        #expect(figures.acknowledgedCommands > Self.cycles, "the writers got too few answers to prove anything")
        let line = "crash-harness: seed=\(seed) cycles=\(figures.cycles) kills=\(figures.cycles) acknowledged_commands=\(figures.acknowledgedCommands) acknowledged_checks=\(figures.acknowledgedChecks) losses=\(figures.losses) half_applied=\(figures.halfApplied) unacknowledged_present=\(figures.unacknowledgedButPresent) projection_comparisons=\(figures.projectionComparisons)"
        print(line)
        if let path = ProcessInfo.processInfo.environment["CONTACTLEDGER_CRASH_REPORT"] {
            if let handle = FileHandle(forWritingAtPath: path) {
                handle.seekToEndOfFile()
                handle.write(Data((line + "\n").utf8))
                handle.closeFile()
            } else {
                _ = FileManager.default.createFile(atPath: path, contents: Data((line + "\n").utf8))
            }
        }
        // A clean stop after all of it still works.
        #expect(daemon.stop() == 0)
    }

    /// One writer: creates (name, URN, three fields: four events) and modifies (name and two fields:
    /// three events) until its connection dies with the daemon.
    static func write(daemon: DaemonHarness, writer: Int, cycle: Int, seed: UInt64, book: Book, stop: StopFlag) {
        var random = SeededGenerator(seed: seed)
        guard let client = try? daemon.client() else { return }
        var mine = book.owned(by: writer)
        var number = 0
        while !stop.isSet {
            number += 1
            let tag = "k\(cycle)w\(writer)n\(number)"
            do {
                if mine.isEmpty || random.next() % 2 == 0 {
                    let answer = try client.call("contacts.create", [
                        "name": .string(tag), "urns": [.string("ext:\(tag)")],
                        "fields": ["f1": .string("a-\(tag)"), "f2": .string("b-\(tag)"), "f3": .string("c-\(tag)")],
                    ])
                    book.acknowledge(answer, writer: writer, created: true)
                    if let uuid = answer.string("uuid") { mine.append(uuid) }
                } else {
                    let uuid = mine[Int(random.next() % UInt64(mine.count))]
                    let value = "m-\(tag)"
                    let answer = try client.call("contacts.modify", [
                        "uuid": .string(uuid),
                        "modifiers": [
                            ["type": "name", "name": .string(value)],
                            ["type": "field", "field": "f1", "value": .string(value)],
                            ["type": "field", "field": "f2", "value": .string(value)],
                        ],
                    ])
                    book.acknowledge(answer, writer: writer, created: false)
                }
            } catch let error as RPCError {
                book.unexpected("\(error.code) \(error.message) \(String(describing: error.data))")
                return
            } catch {
                // The daemon died under us: the outcome of the call in flight is unknown.
                return
            }
        }
    }

    /// Whether `contact` is made of whole commands; nil if so, else why not.
    static func wholeCommands(_ contact: JSONValue) -> String? {
        guard let name = contact.string("name"), let version = contact.int("version"),
            let fields = contact["fields"], let urn = contact["urns"]?.arrayValue?.first?.stringValue, urn.hasPrefix("ext:")
        else { return "shape" }
        let tag = String(urn.dropFirst(4))
        let f1 = fields["f1"]?.string("text"), f2 = fields["f2"]?.string("text"), f3 = fields["f3"]?.string("text")
        guard f3 == "c-\(tag)" else { return "f3 \(f3 ?? "nil") for \(tag)" }
        if name == tag {
            guard version == 4, f1 == "a-\(tag)", f2 == "b-\(tag)" else { return "partial create v\(version) f1=\(f1 ?? "nil") f2=\(f2 ?? "nil")" }
        } else {
            guard name.hasPrefix("m-"), version >= 7, (version - 4) % 3 == 0, f1 == name, f2 == name else {
                return "partial modify v\(version) name=\(name) f1=\(f1 ?? "nil") f2=\(f2 ?? "nil")"
            }
        }
        return nil
    }

    /// After a restart: every acknowledged contact at or past its acknowledged version, every contact
    /// whole, the read model equal to a rebuild, the chain intact.
    static func check(daemon: DaemonHarness, book: Book, cycle: Int, compareProjections: Bool, figures: inout Figures) throws {
        let (acknowledged, fresh) = book.snapshot()
        let client = try daemon.client()
        // Every contact there is, through the read model.
        var present: [String: JSONValue] = [:]
        var cursor: JSONValue = .null
        repeat {
            var params: JSONValue = ["query": "", "limit": 1000, "sort": "id"]
            if cursor != .null, case .object(var members) = params {
                members["cursor"] = cursor
                params = .object(members)
            }
            let page = try client.call("contacts.search", params)
            for contact in page["contacts"]?.arrayValue ?? [] {
                if let uuid = contact.string("uuid") { present[uuid] = contact }
            }
            cursor = page["next_cursor"] ?? .null
        } while cursor != .null
        for (uuid, contact) in present {
            if let why = Self.wholeCommands(contact) {
                figures.halfApplied += 1
                Issue.record("cycle \(cycle): contact \(uuid) is not made of whole commands: \(why)")
            }
        }
        for (uuid, ack) in acknowledged {
            figures.acknowledgedChecks += 1
            guard let contact = present[uuid] else {
                figures.losses += 1
                Issue.record("cycle \(cycle): acknowledged contact \(uuid) (v\(ack.version)) is missing after the restart")
                continue
            }
            let version = contact.int("version") ?? 0
            if version < ack.version || (version == ack.version && contact.string("name") != ack.name) {
                figures.losses += 1
                Issue.record("cycle \(cycle): contact \(uuid) acknowledged at v\(ack.version) \(ack.name), found v\(version) \(contact.string("name") ?? "nil")")
            }
        }
        figures.unacknowledgedButPresent = present.keys.filter { acknowledged[$0] == nil }.count
        // The contacts acknowledged in this cycle, one by one through contacts.get.
        for uuid in fresh {
            do {
                let contact = try client.call("contacts.get", ["uuid": .string(uuid)])
                #expect((contact.int("version") ?? 0) >= (acknowledged[uuid]?.version ?? 0), "cycle \(cycle): contacts.get \(uuid)")
            } catch let error as RPCError {
                figures.losses += 1
                Issue.record("cycle \(cycle): contacts.get \(uuid) after restart: \(error.code) \(error.message)")
            }
        }
        let verify = try client.call("ledger.verify")
        #expect(verify["verified"] == true, "cycle \(cycle): ledger.verify \(verify)")
        #expect(verify.int("checked") == verify.int("head_seq"), "cycle \(cycle): ledger.verify \(verify)")
        if compareProjections {
            let projections = try client.call("projections.verify", ["name": "contacts"])
            #expect(projections["differences"]?.arrayValue?.isEmpty == true, "cycle \(cycle): projections.verify \(projections)")
            figures.projectionComparisons += 1
        }
    }
}
