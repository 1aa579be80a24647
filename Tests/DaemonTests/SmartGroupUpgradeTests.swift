// ContactLedger — daemon tests.
import Foundation
import LedgerStore
import RPC
import Testing

/// Smart group memberships recorded under older matching rules are evaluated again at the first start of a
/// build whose rules differ (found by the upgrade audit: after an upgrade a group showed `ready` with 13
/// members where its query matched 10, and `name ~ "izmir"` none of the 2 the query found).
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct SmartGroupUpgradeTests {
    @Test func membershipsFromOlderRulesAreEvaluatedAgainOnce() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "name": "Age", "type": "number"])
        let adult = try #require(try daemon.call("contacts.create", ["name": "Ada", "fields": ["age": "30"]]).string("uuid"))
        let child = try #require(try daemon.call("contacts.create", ["name": "Cy"]).string("uuid"))
        let group = try #require(try daemon.call("groups.create", ["name": "Adults", "query": "age >= 18"]).string("uuid"))
        #expect(try QueryAndGroupTests.waitUntilReady(daemon, group)["count"]?.integerValue == 1)
        #expect(daemon.stop() == 0)

        // The directory as a build of older rules left it: a membership its query does not give now, and no
        // rules version stored.
        try ProjectionTests.appendToStoppedLog(
            daemon, contact: child, type: "contact_groups_changed", createdOn: "2026-11-25T00:00:00.000000Z", actor: "older-build",
            payload: #"{"groups_added":[{"uuid":"\#(group)","name":"Adults"}]}"#)
        let environment = try Environment(directory: daemon.directory, rebuildableSubdirectory: "readmodels")
        let meta = try #require(try environment.openTables(["ledger.meta"])["ledger.meta"])
        _ = try environment.write { txn in try txn.delete(meta, key: Array("populate-matching-rules".utf8)) }
        try daemon.start()

        let deadline = Date().addingTimeInterval(60)
        var members: [String] = []
        repeat {
            usleep(20_000)
            members = try daemon.call("groups.members", ["uuid": .string(group)])["items"]?.arrayValue?.compactMap { $0.string("uuid") } ?? []
        } while members != [adult] && Date() < deadline
        #expect(members == [adult])
        #expect(try QueryAndGroupTests.waitUntilReady(daemon, group)["count"]?.integerValue == 1)
        let removal = try daemon.call("contacts.history", ["uuid": .string(child), "types": ["contact_groups_changed"]])["items"]?.arrayValue?.first
        #expect(removal?["data"]?["groups_removed"]?.arrayValue?.count == 1, "\(String(describing: removal))")

        // Once: the next start evaluates nothing again.
        let evaluations = try ContactKit.allEvents(daemon).filter { $0.string("type") == "group_evaluated" }.count
        #expect(daemon.stop() == 0)
        try daemon.start()
        _ = try QueryAndGroupTests.waitUntilReady(daemon, group)
        usleep(500_000)
        #expect(try ContactKit.allEvents(daemon).filter { $0.string("type") == "group_evaluated" }.count == evaluations)
    }
}
