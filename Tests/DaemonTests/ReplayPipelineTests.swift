// ContactLedger — read-model tests.
import CLedgerSys
import Foundation
import LedgerStore
import Projections
import RPC
import Synchronization
import Testing

/// The replay pipeline of rebuilds: a log a real daemon wrote, replayed with tiny runs, transactions and
/// held-contact budgets on several decoder threads, gives read models equal to the live ones, also when
/// stopped half-way and resumed, and when a transaction fills the map and runs again.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct ReplayPipelineTests {
    @Test func aReplayInTinyPiecesEqualsTheLiveReadModels() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let client = try daemon.client()
        var uuids: [String] = []
        for start in stride(from: 0, to: 400, by: 100) {
            let batch: [JSONValue] = (start..<start + 100).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create",
                 "params": ["name": .string("Piece \(index)"), "urns": [.string("tel:+2507880\(String(format: "%05d", index))")],
                            "fields": ["age": .string(String(index % 70))]]]
            }
            try client.send(raw: JSONLine.encode(.array(batch)) + [10])
            uuids += try client.readValue().arrayValue?.compactMap { $0["result"]?.string("uuid") } ?? []
        }
        #expect(uuids.count == 400)
        // Rounds of changes to every contact, so one contact's events spread over many runs.
        for round in 0..<3 {
            let changed = try daemon.call("contacts.bulk_modify", [
                "query": "age >= 0",
                "modifiers": [["type": "name", "name": .string("Round \(round)")], ["type": "field", "field": "age", "value": .string(String(round))]],
            ])
            #expect(changed.int("changed") == 400)
        }
        // A URN moving between contacts, and a deletion (its earlier payloads erased).
        try daemon.call("contacts.modify", ["uuid": .string(uuids[0]), "modifiers": [["type": "urns", "action": "set", "urns": ["tel:+250789999999"]]]])
        try daemon.call("contacts.modify", ["uuid": .string(uuids[1]), "modifiers": [["type": "urns", "action": "set", "urns": ["tel:+250788000000"]]]])
        try daemon.call("contacts.modify", ["uuid": .string(uuids[2]), "modifiers": [["type": "status", "status": "archived"]]])
        try daemon.call("contacts.delete", ["uuid": .string(uuids[2])])
        // A URN let go and taken by another contact, then events of both: the replay skips re-asserting
        // URNs only while no owner has changed, so the new owner keeps it.
        let moved = "tel:+250788000004"
        try daemon.call("contacts.modify", ["uuid": .string(uuids[4]), "modifiers": [["type": "urns", "action": "set", "urns": ["tel:+250789999994"]]]])
        try daemon.call("contacts.modify", ["uuid": .string(uuids[3]), "modifiers": [["type": "urns", "action": "append", "urns": [.string(moved)]]]])
        for uuid in [uuids[4], uuids[3], uuids[4]] {
            try daemon.call("contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "name", "name": "After the move"]]])
        }
        #expect(try daemon.call("contacts.get", ["urn": .string(moved)]).string("uuid") == uuids[3])
        #expect(daemon.stop() == 0)

        // Replayed into an environment of its own, as an online rebuild stages, with a map so small that
        // it must grow as the replay goes.
        let replay = try Replay(daemon)
        let (environment, tables, live, head, staging, staged) = (replay.environment, replay.tables, replay.live, replay.head, replay.staging, replay.staged)
        #expect(head > 2_000)
        var pipeline = ReplayPipeline(projector: staged, log: replay.log, logEnvironment: environment, targetEnvironment: staging)
        pipeline.limits.chunkRecords = 7
        pipeline.limits.queuedChunks = 3
        pipeline.limits.transactionRecords = 50
        pipeline.limits.heldContacts = 11
        pipeline.limits.decoders = 3
        // Each decoder thread runs the setup first (the daemon lowers their priority there).
        let decoderNices = Mutex<[Int32]>([])
        let ownNice = CLedgerSys_threadNice()
        let lowered = min(19, ownNice + 3)
        pipeline.limits.decoderSetup = {
            _ = CLedgerSys_lowerThreadPriority(lowered)
            let nice = CLedgerSys_threadNice()
            decoderNices.withLock { $0.append(nice) }
        }
        // Stopped after a while: what the open transaction applied is dropped (a stop does not wait for
        // its write-back), and a second run resumes from the last commit.
        var asked = 0
        var checkpoints: [UInt64] = []
        var applied: [UInt64] = []
        let stoppedAt = try pipeline.run(until: head, shouldStop: { asked += 1; return asked > 30 }, applied: { applied.append($0) }) {
            checkpoints.append($0)
        }
        #expect(stoppedAt > 0 && stoppedAt < head)
        #expect(checkpoints == checkpoints.sorted() && checkpoints.last == stoppedAt)
        // Progress is shown run by run, between the commits.
        #expect(applied == applied.sorted() && applied.count > checkpoints.count)
        #expect((applied.last ?? 0) >= stoppedAt)
        #expect(Set(checkpoints).isSubset(of: Set(applied)))
        #expect(try staging.read { txn in try staged.state(in: txn)?.position } == stoppedAt)
        #expect(decoderNices.withLock { $0 } == [lowered, lowered, lowered])
        #expect(CLedgerSys_threadNice() == ownNice, "only the decoder threads are lowered")
        // A transaction of no time at all still takes a run: each run is then a transaction of its own.
        var timed = pipeline
        timed.limits.transactionRecords = 1_000_000
        timed.limits.transactionSeconds = 0
        var timedCheckpoints: [UInt64] = []
        var timedApplied: [UInt64] = []
        asked = 0
        let timedStop = try timed.run(until: head, shouldStop: { asked += 1; return asked > 4 }, applied: { timedApplied.append($0) }) {
            timedCheckpoints.append($0)
        }
        #expect(timedStop > stoppedAt && timedStop < head)
        #expect(try staging.read { txn in try staged.state(in: txn)?.position } == timedStop)
        #expect(timedCheckpoints == timedApplied && timedCheckpoints.count >= 2)
        pipeline.limits.transactionRecords = 1_000_000
        pipeline.limits.heldContacts = 1_000_000
        let finished = try pipeline.run(until: head)
        #expect(finished == head)
        // The map grew from its 64 KiB as the runs went (room made ahead of each transaction, or a full
        // map met half-way: aTransactionThatFillsTheMapWhileApplyingARunAppliesItAgain).
        #expect(staging.statistics().mapSize > 1 << 16)

        // Copied into a generation of the ledger as the online rebuild does, then compared table by table.
        let replayed = try Self.copy(staged, from: staging, into: tables, of: environment)
        #expect(try environment.read { txn in try replayed.state(in: txn)?.position } == head)
        let differences = try environment.read { txn in try live.differences(from: replayed, in: txn) }
        #expect(differences.isEmpty, "\(differences.prefix(3))")

        // The comparison finds each kind of difference, in key order, named by ids.
        let replayedTables = Dictionary(uniqueKeysWithValues: replayed.tablesByBaseName)
        let ids = try #require(replayedTables["rm.contact_ids"])
        let contacts = try #require(replayedTables["rm.contacts"])
        let firstContact = try environment.write { txn -> [UInt8] in
            let (firstID, secondContact) = try txn.withCursor(ids) { cursor in
                (Array(try #require(try cursor.first()).key), try #require(try cursor.next()).value)
            }
            #expect(try txn.delete(ids, key: firstID))
            // An id past every real one, owned by the contact the second id names.
            try txn.put(ids, key: BigEndian.bytes(UInt64(1) << 62), value: Array(secondContact))
            let firstContact = try txn.withCursor(contacts) { cursor in Array(try #require(try cursor.first()).key) }
            try txn.put(contacts, key: firstContact, value: [0xFF])
            return firstContact
        }
        let found = try environment.read { txn in try live.differences(from: replayed, in: txn) }
        #expect(found.map(\.kind) == ["different", "unexpected", "missing"], "\(found)")
        #expect(found.map(\.table) == ["rm.contacts", "rm.contact_ids", "rm.contact_ids"])
        #expect(found.last?.key == String(UInt64(1) << 62))
        // A contact's key (workspace, NUL, UUID) reads as text: ids only, no personal data.
        #expect(found.first?.key == String(decoding: firstContact.map { $0 == 0 ? UInt8(ascii: "/") : $0 }, as: UTF8.self))
        #expect(try environment.read { txn in try live.differences(from: replayed, limit: 2, in: txn) }.count == 2)
    }

    /// A transaction that fills the map while it applies a run (a message is written as it is applied,
    /// where a contact is held until the transaction's end) runs again from its start, and applies that run
    /// again: the queue has handed it over. It was lost, the next run did not follow on, and the replay
    /// failed with "checkpoint moved" (an offline rebuild, resumed on a big ledger, did near its end).
    @Test func aTransactionThatFillsTheMapWhileApplyingARunAppliesItAgain() throws {
        let daemon = try DaemonHarness()
        let client = try daemon.client()
        for start in stride(from: 0, to: 600, by: 100) {
            let batch: [JSONValue] = (start..<start + 100).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "messages.receive",
                 "params": ["urn": .string("tel:+2507881\(String(format: "%05d", index % 200))"), "text": .string(String(repeating: "word ", count: 40))]]
            }
            try client.send(raw: JSONLine.encode(.array(batch)) + [10])
            let answers = try client.readValue().arrayValue ?? []
            #expect(answers.count == 100 && answers.allSatisfy { $0["result"] != nil })
        }
        #expect(daemon.stop() == 0)

        let replay = try Replay(daemon)
        let (environment, tables, live, head, staging, staged) = (replay.environment, replay.tables, replay.live, replay.head, replay.staging, replay.staged)
        #expect(head >= 800)
        var pipeline = ReplayPipeline(projector: staged, log: replay.log, logEnvironment: environment, targetEnvironment: staging)
        pipeline.limits.chunkRecords = 5
        pipeline.limits.queuedChunks = 4
        pipeline.limits.decoders = 2
        pipeline.limits.transactionRecords = 1_000_000
        pipeline.limits.heldContacts = 1_000_000
        let mapBefore = staging.statistics().mapSize
        #expect(try pipeline.run(until: head) == head)
        #expect(staging.statistics().mapSize >= mapBefore * 8, "the map was not filled often enough to find a run half applied")

        let replayed = try Self.copy(staged, from: staging, into: tables, of: environment)
        let differences = try environment.read { txn in try live.differences(from: replayed, in: txn) }
        #expect(differences.isEmpty, "\(differences.prefix(3))")
    }

    /// A stopped daemon's ledger opened for a replay: its log, its read models (the answering generation,
    /// and the verification generation to copy a replay into) and an empty staging environment of its
    /// own whose map starts at 64 KiB.
    struct Replay {
        let environment: Environment
        let log: EventLog
        let tables: [String: Table]
        let live: Projector
        let head: UInt64
        let staging: Environment
        let staged: Projector

        init(_ daemon: DaemonHarness) throws {
            self.environment = try Environment(directory: daemon.directory, rebuildableSubdirectory: "readmodels")
            self.log = try EventLog.open(in: self.environment, indexing: .ledgerHeaders)
            var tables = try self.environment.openTables(Projector.tableNames(generation: 0), durability: .rebuildable)
            tables.merge(try self.environment.openTables(Projector.tableNames(generation: Projector.verificationGeneration), durability: .rebuildable)) { first, _ in first }
            self.tables = tables
            self.live = try Projector(tables: tables, generation: 0)
            let log = self.log
            self.head = try self.environment.read { txn in try log.head(in: txn).seq }
            let stagingDirectory = daemon.directory + "/staging"
            try FileManager.default.createDirectory(atPath: stagingDirectory, withIntermediateDirectories: false)
            self.staging = try Environment(directory: stagingDirectory, configuration: Environment.Configuration(initialMapSize: 1 << 16))
            let staged = try Projector(tables: try self.staging.openTables(Projector.tableNames(generation: 0)), generation: 0)
            try self.staging.write { txn in try staged.reset(in: txn) }
            self.staged = staged
        }
    }

    /// Copies a staged generation into the verification generation of the ledger's `tables`, as the
    /// online rebuild copies, and returns that generation's projector.
    static func copy(_ staged: Projector, from staging: Environment, into tables: [String: Table], of environment: Environment) throws -> Projector {
        let replayed = try Projector(tables: tables, generation: Projector.verificationGeneration)
        try environment.write { txn in
            try replayed.reset(in: txn)
            try staging.read { stagingTxn in
                var position = Projector.CopyPosition(table: 0, lastKey: nil)
                while let next = try replayed.copyEntries(from: staged, in: stagingTxn, after: position, maximumNanoseconds: 1_000, into: txn) {
                    position = next
                }
            }
        }
        return replayed
    }
}
