// ContactLedger — daemon tests.
import Foundation
import RPC
import Testing

/// `contacts.search` pages read in their order's index (empty query, `group =`, `status =`; sorted by id
/// or by a number or datetime field) must be exactly the pages of the general path, which loads, sorts
/// and pages every match. The general path is reached with the same query made unindexable.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct OrderedSearchTests {
    /// What `query` matches, as a query the planner cannot answer from an index (the evaluator checks
    /// every contact), with the same matches.
    static func unindexable(_ query: String) -> String {
        query.isEmpty ? "status = active OR status != active" : "(\(query)) OR name = \"~no such contact~\""
    }

    /// Every page of `query` sorted by `sort`, `limit` at a time: the uuids in order, and each page's total.
    static func pages(_ daemon: DaemonHarness, query: String, sort: String, limit: Int) throws -> (uuids: [String], totals: Set<Int64>) {
        var uuids: [String] = []
        var totals: Set<Int64> = []
        var cursor: JSONValue = .null
        var pages = 0
        repeat {
            var params: [String: JSONValue] = ["query": .string(query), "sort": .string(sort), "limit": .integer(Int64(limit))]
            if cursor != .null { params["cursor"] = cursor }
            let page = try daemon.call("contacts.search", .object(params))
            uuids += page["contacts"]?.arrayValue?.compactMap { $0.string("uuid") } ?? []
            totals.insert(page.int("total") ?? -1)
            cursor = page["next_cursor"] ?? .null
            pages += 1
        } while cursor != .null && pages < 100
        return (uuids, totals)
    }

    @Test func orderedPagesEqualTheGeneralPath() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "score", "type": "number"])
        try daemon.call("fields.create", ["key": "joined", "type": "datetime"])
        let members = try #require(try daemon.call("groups.create", ["name": "Members"]).string("uuid"))
        var uuids: [String] = []
        for index in 0..<48 {
            var fields: [String: JSONValue] = [:]
            // Ties, missing values, negatives, and two decimals that only differ past a double's precision.
            if index % 5 != 0 { fields["score"] = .string(String(index % 7 - 2)) }
            if index == 3 { fields["score"] = "0.10000000000000000000002" }
            if index == 4 { fields["score"] = "0.10000000000000000000001" }
            if index % 6 != 0 { fields["joined"] = .string(String(format: "2026-03-%02d 09:30", index % 9 + 1)) }
            var params: [String: JSONValue] = ["name": .string("Person \(index)"), "fields": .object(fields)]
            if index % 2 == 0 { params["groups"] = [.string(members)] }
            uuids.append(try #require(try daemon.call("contacts.create", .object(params)).string("uuid")))
        }
        // Changes after creation: the indexes must follow them.
        for index in stride(from: 1, to: 48, by: 8) {
            try daemon.call("contacts.modify", ["uuid": .string(uuids[index]), "modifiers": [["type": "field", "field": "score", "value": "42"]]])
        }
        for index in [7, 14, 21] {
            try daemon.call("contacts.modify", ["uuid": .string(uuids[index]), "modifiers": [["type": "status", "status": "blocked"]]])
        }
        for index in [9, 12] {
            try daemon.call("contacts.modify", ["uuid": .string(uuids[index]), "modifiers": [["type": "status", "status": "archived"]]])
            try daemon.call("contacts.delete", ["uuid": .string(uuids[index])])
        }

        for query in ["", "group = Members", "status = active", "status = blocked"] {
            let counted = try daemon.call("contacts.count", ["query": .string(query)]).int("total")
            let scanned = try daemon.call("contacts.count", ["query": .string(Self.unindexable(query))]).int("total")
            #expect(counted == scanned, "count of \"\(query)\"")
            for sort in ["-id", "id", "score", "-score", "fields.joined", "-joined"] {
                for limit in [1, 4, 50] {
                    let ordered = try Self.pages(daemon, query: query, sort: sort, limit: limit)
                    let general = try Self.pages(daemon, query: Self.unindexable(query), sort: sort, limit: limit)
                    let what = "query \"\(query)\" sort \(sort) limit \(limit)"
                    #expect(!general.uuids.isEmpty, "\(what): the general path found nothing")
                    #expect(ordered.uuids == general.uuids, "\(what)")
                    #expect(ordered.totals == [Int64(general.uuids.count)], "\(what): totals \(ordered.totals)")
                    #expect(Set(ordered.uuids).count == ordered.uuids.count, "\(what): a contact twice")
                }
            }
        }
        // Deleted contacts are on no page.
        let everyone = try Self.pages(daemon, query: "", sort: "-id", limit: 10)
        #expect(!everyone.uuids.contains(uuids[9]) && !everyone.uuids.contains(uuids[12]))
        #expect(everyone.uuids.count == 46)
        #expect(everyone.totals == [46])
        // The live-contact count behind the total of everyone is part of the read model: a rebuild from the
        // log gives the same bytes.
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }
}
