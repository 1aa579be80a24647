// ContactLedger — read-model tests.
import Foundation
import LedgerStore
import Projections
import RPC
import Testing

/// The replay pipeline of rebuilds: a log a real daemon wrote, replayed with tiny runs, transactions and
/// held-contact budgets on several decoder threads, gives read models equal to the live ones, also when
/// stopped half-way and resumed.
@Suite(.timeLimit(.minutes(3)))
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
        #expect(daemon.stop() == 0)

        let environment = try Environment(directory: daemon.directory, rebuildableSubdirectory: "readmodels")
        var tables = try environment.openTables(EventLog.tableNames)
        let readModels = [0, Projector.verificationGeneration].flatMap { Projector.tableNames(generation: $0) }
        tables.merge(try environment.openTables(readModels, durability: .rebuildable)) { first, _ in first }
        let log = try EventLog(tables: tables)
        let live = try Projector(tables: tables, generation: 0)
        let replayed = try Projector(tables: tables, generation: Projector.verificationGeneration)
        try environment.write { txn in try replayed.reset(in: txn) }
        let head = try environment.read { txn in try log.head(in: txn).seq }
        #expect(head > 2_000)

        var pipeline = ReplayPipeline(projector: replayed, log: log, logEnvironment: environment, targetEnvironment: environment)
        pipeline.limits.chunkRecords = 7
        pipeline.limits.queuedChunks = 3
        pipeline.limits.transactionRecords = 50
        pipeline.limits.heldContacts = 11
        pipeline.limits.decoders = 3
        // Stopped after a while: what was applied is committed, and a second run resumes from there.
        var asked = 0
        var checkpoints: [UInt64] = []
        let stoppedAt = try pipeline.run(until: head, shouldStop: { asked += 1; return asked > 120 }) { checkpoints.append($0) }
        #expect(stoppedAt > 0 && stoppedAt < head)
        #expect(checkpoints == checkpoints.sorted() && checkpoints.last == stoppedAt)
        #expect(try environment.read { txn in try replayed.state(in: txn)?.position } == stoppedAt)
        let finished = try pipeline.run(until: head)
        #expect(finished == head)

        let differences = try environment.read { txn in try live.differences(from: replayed, in: txn) }
        #expect(differences.isEmpty, "\(differences.prefix(3))")
    }
}
