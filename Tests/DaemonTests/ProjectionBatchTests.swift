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

    /// A field's deletion finds its contacts through the index only in a generation whose index lists every
    /// value (``ReadableIndexes/fieldValues``, version 12). In a generation an older version wrote, where a
    /// value of spaces had no text entry, it reads every contact, and the value still goes; in a current
    /// one the index is trusted (shown here by taking the entry out, which only a damaged model lacks).
    @Test(arguments: [11, Projector.version])
    func aFieldDeletionTrustsTheIndexOnlyWhereItListsEveryValue(version: Int) throws {
        let directory = try TemporaryDirectory(prefix: "clbatch")
        defer { directory.remove() }
        let environment = try Environment(directory: directory.path)
        let tables = try environment.openTables(Projector.tableNames(generation: 0))
        let projector = try Projector(tables: tables, generation: 0)
        let meta = try #require(tables["rm.meta"])
        let index = try #require(tables["rm.index"])
        try environment.write { txn in try projector.reset(in: txn) }

        let contact = ContactUUID.random()
        func header(_ seq: UInt64, stream: String, version: UInt64, _ event: LedgerEvent) -> (event: LedgerEvent, header: EventHeader) {
            let header = EventHeader(
                seq: seq, id: "", stream: stream, version: version, type: event.type, schemaVersion: 1,
                workspace: "main", createdOn: Timestamp(microseconds: Int64(seq) * 1_000), actor: "tester", peer: nil, idempotencyKey: nil
            )
            return (event, header)
        }
        let stream = EventHeader.contactStream(contact)
        let spaces = ContactFieldChanged(field: .init(key: "note", name: "Note"), value: FieldValue(text: "   "))
        try environment.write { txn in
            let batch = ProjectionBatch(projector: projector, txn: txn)
            try batch.apply([
                header(1, stream: stream, version: 1, .contactCreated(ContactCreated(uuid: contact, id: 1, name: "N", language: nil, status: .active, urns: []))),
                header(2, stream: stream, version: 2, .contactFieldChanged(spaces)),
            ])
            try batch.finishAtLastApplied()
        }
        // The generation as `version` left it: no text entry for the value of spaces.
        try environment.write { txn in
            let state = try #require(try txn.get(meta, key: Array("state".utf8)))
            try txn.put(meta, key: Array("state".utf8), value: BigEndian.bytes(UInt64(version)) + Array(state[8...]))
            let prefix = Array("main".utf8) + [0] + ContactIndex.Term.fieldText(key: "note", text: "").prefix
            var keys: [[UInt8]] = []
            try txn.withCursor(index) { cursor in
                try cursor.forEach(from: prefix) { entry in
                    guard entry.key.hasPrefix(prefix) else { return false }
                    keys.append(Array(entry.key))
                    return true
                }
            }
            #expect(keys.count == 1)
            for key in keys { _ = try txn.delete(index, key: key) }
        }
        try environment.write { txn in
            let batch = ProjectionBatch(projector: projector, txn: txn)
            try batch.apply([header(3, stream: "workspace-main", version: 1, .fieldDeleted(key: "note"))])
            try batch.finishAtLastApplied()
        }
        let fields = try environment.read { txn in try #require(try projector.contacts.contact(contact, workspace: "main", in: txn)).fields }
        if version < Projector.version {
            #expect(fields["note"] == nil, "a deletion in an older generation trusted an index that lacks the value")
        } else {
            #expect(fields["note"] == FieldValue(text: "   "), "the deletion did not go by the index")
        }
    }
}
