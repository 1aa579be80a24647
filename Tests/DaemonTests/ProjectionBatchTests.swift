// ContactLedger — read-model tests.
import ContactDomain
import Foundation
import LedgerStore
@testable import Projections
import TestSupport
import Testing

/// A replay applies a decoded run's records where the run holds them.
struct ProjectionBatchTests {
    /// A record that cannot be applied (an event of a contact never created) stops the run with the
    /// model's error, and every record is still in its slot, as decoded: the run is freed (or decoded
    /// again, when the transaction runs again) whatever happened while it was applied.
    @Test func aRecordThatFailsLeavesTheRunAsItWasDecoded() throws {
        let directory = try TemporaryDirectory(prefix: "clbatch")
        defer { directory.remove() }
        let environment = try Environment(directory: directory.path)
        let projector = try Projector(tables: try environment.openTables(Projector.tableNames(generation: 0)), generation: 0)
        try environment.write { txn in try projector.reset(in: txn) }

        let known = ContactUUID.random()
        let stranger = ContactUUID.random()
        func records() -> [ReplayChunk.Item] {
            func record(_ seq: UInt64, _ contact: ContactUUID, version: UInt64, _ event: LedgerEvent) -> ReplayChunk.Item {
                let header = EventHeader(
                    seq: seq, id: "", stream: EventHeader.contactStream(contact), version: version, type: event.type, schemaVersion: 1,
                    workspace: "ws-\(seq % 1)", createdOn: Timestamp(microseconds: Int64(seq) * 1_000), actor: "tester", peer: nil,
                    idempotencyKey: nil
                )
                return ReplayChunk.Item(header: header, event: event, contact: contact)
            }
            return [
                record(1, known, version: 1, .contactCreated(ContactCreated(
                    uuid: known, id: 1, name: "Known \(known)", language: nil, status: .active, urns: ["tel:+250788000001"]
                ))),
                record(2, known, version: 2, .contactNameChanged(name: "Renamed \(known)")),
                record(3, stranger, version: 2, .contactNameChanged(name: "Nobody \(stranger)")),
                record(4, known, version: 3, .contactNameChanged(name: "Never applied")),
            ]
        }
        var run = records()
        try environment.write { txn in
            let batch = ProjectionBatch(projector: projector, txn: txn)
            #expect(throws: ReadModelError.missingContact(stranger.rawValue)) { try batch.apply(&run) }
        }
        let decoded = records()
        #expect(run.map(\.header) == decoded.map(\.header))
        #expect(run.map(\.event) == decoded.map(\.event))
        #expect(run.map(\.contact) == decoded.map(\.contact))
    }
}
