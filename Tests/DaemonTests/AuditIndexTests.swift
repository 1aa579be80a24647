// ContactLedger — read-model tests.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import TestSupport
import Testing

/// `audit.changes` finds the log positions every filter lists by walking the audit index's lists
/// together, never reading the log for the rest.
struct AuditIndexTests {
    /// Over 6,000 events in two posting blocks, by three actors (one of them rare), of several types,
    /// in two workspaces: every combination of filters finds what a check of each event finds, in
    /// order, whole; and found a page at a time, with searches that stop after a few steps, the pages
    /// put together are the same (each goes on from where the last one's search stopped).
    @Test func filtersMatchWhatACheckOfEachEventFindsAlsoInShortSearches() throws {
        let directory = try TemporaryDirectory(prefix: "claudit")
        defer { directory.remove() }
        let environment = try Environment(directory: directory.path)
        let log = try EventLog(tables: try environment.openTables(EventLog.tableNames))
        let projector = try Projector(tables: try environment.openTables(Projector.tableNames(generation: 0)), generation: 0)
        try environment.write { txn in try projector.reset(in: txn) }

        let contact = ContactUUID.random()
        let stream = EventHeader.contactStream(contact)
        let events: [(stream: String, event: LedgerEvent)] = (0..<6_000).map { index in
            switch index {
            case 0: (stream, .contactCreated(ContactCreated(uuid: contact, id: 1, name: "One", language: nil, status: .active, urns: [])))
            case _ where index % 1_000 == 7: ("workspace/default", .fieldDeleted(key: "gone"))
            case _ where index % 10 == 3: (stream, .contactLanguageChanged(language: index % 20 == 3 ? "fra" : "eng"))
            default: (stream, .contactNameChanged(name: "Name \(index)"))
            }
        }
        // The rare actor makes 12 changes, the others alternate; the other workspace's events interleave.
        let actor = { (index: Int) in index % 500 == 11 ? "rare" : (index % 2 == 0 ? "even" : "odd") }
        var headers: [EventHeader] = []
        try environment.write { txn in
            for start in stride(from: 0, to: events.count, by: 100) {
                headers += try ReplayChunkTests.append(Array(events[start..<start + 100]), to: log, actors: { actor(start + $0) }, in: txn)
                _ = try ReplayChunkTests.append(Array(events[start..<start + 3]), to: log, workspace: "other", in: txn)
            }
        }
        while try !environment.write({ txn in try projector.catchUp(log: log, limit: 5_000, in: txn).reachedHead }) {}
        let head = try environment.read { txn in try log.head(in: txn).seq }

        let cases: [[AuditIndex.Filter]] = [
            [AuditIndex.Filter(.type, ["field_deleted"])],
            [AuditIndex.Filter(.type, ["field_deleted", "contact_language_changed"])],
            [AuditIndex.Filter(.type, LedgerEvent.allTypes.sorted())],
            [AuditIndex.Filter(.type, ["field_deleted"]), AuditIndex.Filter(.actor, ["even"])],
            [AuditIndex.Filter(.type, ["contact_name_changed", "field_deleted"]), AuditIndex.Filter(.actor, ["rare"])],
            [AuditIndex.Filter(.actor, ["odd"]), AuditIndex.Filter(.type, ["contact_language_changed"])],
            [AuditIndex.Filter(.actor, ["nobody"])],
            [AuditIndex.Filter(.type, [])],
        ]
        for filters in cases {
            let expected = headers.filter { header in
                filters.allSatisfy { filter in
                    switch filter.dimension {
                    case .type: filter.values.contains(header.type)
                    case .actor: filter.values.contains(header.actor ?? "")
                    default: false
                    }
                }
            }.map(\.seq)
            let whole = try environment.read { txn in
                try projector.audit.matches(workspace: "default", filters, in: 1...head, limit: .max, maximumSteps: .max, in: txn)
            }
            #expect(whole.seqs == expected, "\(filters.map(\.values))")
            #expect(whole.listedThrough == head)
            for (limit, steps) in [(7, 4), (1_000, 60)] {
                var paged: [UInt64] = []
                var from: UInt64 = 1
                var pages = 0
                while from <= head, pages < 20_000 {
                    let page = try environment.read { txn in
                        try projector.audit.matches(workspace: "default", filters, in: from...head, limit: limit, maximumSteps: steps, in: txn)
                    }
                    #expect(page.listedThrough >= from, "a page must move on")
                    paged += page.seqs
                    from = page.listedThrough + 1
                    pages += 1
                }
                #expect(paged == expected, "\(filters.map(\.values)) limit \(limit), \(steps) steps")
            }
        }
    }
}
