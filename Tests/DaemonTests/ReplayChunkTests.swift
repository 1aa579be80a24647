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
            headers = try Self.append(appended, to: log, in: txn)
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

    /// A catch-up command inside the writer that has used its time stops after the next deletion of a
    /// field or a group, whose cost grows with the contacts that have it (six of them in one chunk held
    /// every write for 45 s): the chunk is applied in runs that each end with one, and a command past
    /// its deadline applies one such run at most. With time left it applies the whole chunk.
    @Test func aCatchUpPastItsDeadlineStopsAfterTheNextFieldOrGroupDeletion() throws {
        let directory = try TemporaryDirectory(prefix: "clwide")
        defer { directory.remove() }
        let environment = try Environment(directory: directory.path)
        let log = try EventLog(tables: try environment.openTables(EventLog.tableNames))
        let contact = ContactUUID.random()
        let group = GroupUUID.random()
        let stream = EventHeader.contactStream(contact)
        let workspace = "workspace/default"
        let appended: [(stream: String, event: LedgerEvent)] = [
            (workspace, .fieldCreated(FieldCreated(key: "age", name: "Age", type: .text))),
            (workspace, .fieldCreated(FieldCreated(key: "city", name: "City", type: .text))),
            (workspace, .groupCreated(GroupCreated(uuid: group, name: "Group", query: nil))),
            (stream, .contactCreated(ContactCreated(uuid: contact, id: 1, name: "One", language: nil, status: .active, urns: []))),
            (stream, .contactFieldChanged(ContactFieldChanged(field: .init(key: "age", name: "Age"), value: FieldValue(text: "41")))),
            (workspace, .fieldDeleted(key: "age")),  // 6
            (stream, .contactNameChanged(name: "Two")),
            (workspace, .groupDeleted(uuid: group)),  // 8
            (workspace, .fieldDeleted(key: "city")),  // 9
            (stream, .contactNameChanged(name: "Three")),
            (workspace, .fieldUpdated(FieldUpdated(key: "note", name: "Note"))),
        ]
        try environment.write { txn in _ = try Self.append(appended, to: log, in: txn) }
        let kinds = try environment.read { txn in try ReplayChunk.read(log: log, after: 0, limit: 100, in: txn) }.items.map(\.isWorkspaceWide)
        #expect(kinds == [false, false, false, false, false, true, false, true, true, false, false])
        let runs = try environment.read { txn in try ReplayChunk.read(log: log, after: 0, limit: 100, in: txn) }.runsEndingAtWorkspaceWideEvents()
        #expect(runs.map(\.after) == [0, 6, 8, 9])
        #expect(runs.map(\.last) == [6, 8, 9, 11])

        for generation in 0..<2 {
            let projector = try Projector(tables: try environment.openTables(Projector.tableNames(generation: generation)), generation: generation)
            try environment.write { txn in try projector.reset(in: txn) }
            var positions: [UInt64] = []
            // Generation 0's deadline has passed before each command starts; generation 1's never comes.
            let deadline: UInt64 = generation == 0 ? 0 : .max
            while positions.last != 11 {
                positions.append(try environment.write { txn in try projector.catchUp(log: log, limit: 100, until: deadline, in: txn).position })
            }
            #expect(positions == (generation == 0 ? [6, 8, 9, 11] : [11]))
            let name = try environment.read { txn in try projector.contacts.contact(contact, workspace: "default", in: txn)?.name }
            #expect(name == "Three")
        }
    }

    /// Appends `events` to `log`, each with a header as the daemon writes it (in `workspace`, by `actor`,
    /// or by the actor `actors` names for its index); returns the headers.
    static func append(
        _ events: [(stream: String, event: LedgerEvent)], to log: EventLog, workspace: String = "default",
        actors: (Int) -> String = { _ in "tester" }, in txn: Transaction
    ) throws -> [EventHeader] {
        var headers: [EventHeader] = []
        for (index, (stream, event)) in events.enumerated() {
            try log.append(to: stream, in: txn) { position in
                let header = EventHeader(
                    seq: position.seq, id: "", stream: stream, version: position.version, type: event.type,
                    schemaVersion: event.schemaVersion, workspace: workspace, createdOn: Timestamp(microseconds: Int64(position.seq)),
                    actor: actors(index), peer: nil, idempotencyKey: nil
                )
                headers.append(header)
                return EncodedRecord(header: header.encoded(), payload: try event.encodedData(timeZone: TimeZone(identifier: "UTC") ?? .current))
            }
        }
        return headers
    }
}
