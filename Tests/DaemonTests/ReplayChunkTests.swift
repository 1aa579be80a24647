// ContactLedger — read-model tests.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import TestSupport
import Testing

/// A replay decodes the log's records in runs, reusing what the record before had decoded.
struct ReplayChunkTests {
    /// Records of several streams, interleaved, one of them erased, decode to their own headers, events
    /// and contacts, in one run and split across runs: what a record reuses from the one before (its
    /// strings, its contact when the stream is the same) never leaks into a record of another stream.
    @Test func interleavedStreamsDecodeToTheirOwnContacts() throws {
        let directory = try TemporaryDirectory(prefix: "clchunk")
        defer { directory.remove() }
        let environment = try Environment(directory: directory.path)
        let log = try EventLog(tables: try environment.openTables(EventLog.tableNames))

        let first = ContactUUID.random()
        let second = ContactUUID.random()
        let created = { (uuid: ContactUUID, id: Int64) in
            LedgerEvent.contactCreated(ContactCreated(uuid: uuid, id: id, name: "Contact \(id)", language: nil, status: .active, urns: []))
        }
        // A contact's events together, then streams alternating, then one that names no contact.
        let appended: [(stream: String, event: LedgerEvent)] = [
            (EventHeader.contactStream(first), created(first, 1)),
            (EventHeader.contactStream(first), .contactNameChanged(name: "First again")),
            (EventHeader.contactStream(second), created(second, 2)),
            (EventHeader.contactStream(first), .contactLanguageChanged(language: "fra")),
            ("workspace/default", .fieldDeleted(key: "age")),
            (EventHeader.contactStream(second), .contactNameChanged(name: "Second again")),
            (EventHeader.contactStream(second), .contactStatusChanged(status: .blocked)),
        ]
        var headers: [EventHeader] = []
        try environment.write { txn in
            for (stream, event) in appended {
                try log.append(to: stream, in: txn) { position in
                    let header = EventHeader(
                        seq: position.seq, id: "", stream: stream, version: position.version, type: event.type,
                        schemaVersion: event.schemaVersion, workspace: "default", createdOn: Timestamp(microseconds: Int64(position.seq)),
                        actor: "tester", peer: nil, idempotencyKey: nil
                    )
                    headers.append(header)
                    return EncodedRecord(header: header.encoded(), payload: try event.encodedData(timeZone: TimeZone(identifier: "UTC") ?? .current))
                }
            }
            try log.erasePayload(at: 6, in: txn)
        }
        let events: [LedgerEvent?] = appended.enumerated().map { $0.offset == 5 ? nil : $0.element.event }
        let contacts: [ContactUUID?] = [first, first, second, first, nil, second, second]

        for split in [0, 1, 3, 5] {
            let items = try environment.read { txn in
                let run = try ReplayChunk.read(log: log, after: 0, limit: split == 0 ? 100 : split, in: txn).items
                return try run + ReplayChunk.read(log: log, after: UInt64(run.count), limit: 100, in: txn).items
            }
            #expect(items.map(\.header.seq) == Array(1...7), "split after \(split)")
            #expect(items.map(\.header.stream) == headers.map(\.stream), "split after \(split)")
            #expect(items.map(\.header.version) == headers.map(\.version), "split after \(split)")
            #expect(items.map(\.event) == events, "split after \(split)")
            #expect(items.map(\.contact) == contacts, "split after \(split)")
        }
    }
}
