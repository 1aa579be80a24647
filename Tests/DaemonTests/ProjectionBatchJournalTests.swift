// ContactLedger — daemon tests.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import TestSupport
import Testing

/// A write batch's deferred projections roll back to a mark when a command that applied events fails:
/// what came before the mark stands, what came after is gone, in memory and once written.
struct ProjectionBatchJournalTests {
    private static func created(_ uuid: ContactUUID, id: Int64, urn: String, seq: UInt64) -> (event: LedgerEvent, header: EventHeader) {
        let event = LedgerEvent.contactCreated(ContactCreated(uuid: uuid, id: id, name: "n\(id)", language: nil, status: .active, urns: [urn]))
        let header = EventHeader(
            seq: seq, id: UUID().uuidString.lowercased(), stream: EventHeader.contactStream(uuid), version: 1, type: event.type,
            schemaVersion: event.schemaVersion, workspace: "main", createdOn: Timestamp(microseconds: Int64(seq)), actor: nil, peer: nil,
            idempotencyKey: nil
        )
        return (event, header)
    }

    @Test func rollingBackToAMarkForgetsOnlyWhatFollowedIt() throws {
        let directory = try TemporaryDirectory(prefix: "cljournal")
        defer { directory.remove() }
        let environment = try Environment(directory: directory.path)
        let projector = try Projector(tables: try environment.openTables(Projector.tableNames(generation: 0)), generation: 0)
        let kept = ContactUUID.random()
        let dropped = ContactUUID.random()
        let keptURN = try URN(stored: "ext:kept").identity
        let droppedURN = try URN(stored: "ext:dropped").identity
        try environment.write { txn throws in
            let batch = projector.openBatch(in: txn, journaled: true)
            try batch.apply([Self.created(kept, id: 1, urn: "ext:kept", seq: 1)])
            let mark = batch.mark()
            // As the writer runs a command: in a nested transaction, which fails after applying.
            struct Failed: Error {}
            #expect(throws: Failed.self) {
                try txn.nested { child throws in
                    batch.use(child)
                    defer { batch.use(txn) }
                    try batch.apply([Self.created(dropped, id: 2, urn: "ext:dropped", seq: 2)])
                    #expect(try batch.owner(ofURN: droppedURN, workspace: "main") == dropped)
                    throw Failed()
                }
            }
            try batch.rollBack(to: mark)
            #expect(try batch.owner(ofURN: droppedURN, workspace: "main") == nil)
            #expect(try batch.contact(dropped, workspace: "main") == nil)
            #expect(try batch.owner(ofURN: keptURN, workspace: "main") == kept)
            #expect(batch.lastSeq == 1)
            // Rolling back to the same mark again changes nothing.
            try batch.rollBack(to: mark)
            #expect(try batch.contact(kept, workspace: "main")?.name == "n1")
            try batch.finish(checkpoint: 1)
        }
        try environment.read { txn throws in
            #expect(try projector.contacts.contact(kept, workspace: "main", in: txn)?.name == "n1")
            #expect(try projector.contacts.contact(dropped, workspace: "main", in: txn) == nil)
            #expect(try projector.contacts.owner(ofURN: droppedURN, workspace: "main", in: txn) == nil)
            #expect(try projector.contacts.contact(id: 2, in: txn) == nil)
            #expect(try projector.state(in: txn)?.position == 1)
        }
    }
}
