// ContactLedger — daemon tests.
import Foundation
import RPC
import Synchronization
import TestSupport
import Testing

/// An online rebuild finishes while bulk commands keep writing.
// Ten minutes: beside the whole suite on 2 cores the test ran 299 s of its own (its staging runs at a low
// priority, and the log it replays grows by every bulk command meanwhile). Slowing the writes while
// staging ran let the rebuild before 12d6ecb swap too, so the test would no longer show the fault.
@Suite(.ownThreads, .timeLimit(.minutes(10)))
struct RebuildUnderBulkWritesTests {
    /// A client flips 200 contacts in and out of five smart groups, one `contacts.bulk_modify` after
    /// another (1,200 events each), with single modifies between them, and the rebuild swaps while it
    /// does. Every catch-up chunk ended behind by at least the last bulk command, more events than the
    /// catch-up would take inside the writer, so the rebuild never swapped until the writes stopped
    /// (groups audit of stop 52, ten groups: 717 to 1,170 events behind for as long as the writes went
    /// on). Commands of 600 events let the rebuild of a debug build swap before the fix too; ten groups
    /// (2,200 events) made the test take minutes beside the others.
    @Test func aRebuildSwapsWhileBulkCommandsKeepFlippingSmartGroups() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "score", "type": "number"])
        for threshold in 0..<5 {
            try daemon.call("groups.create", ["name": .string("Above \(threshold * 20)"), "query": .string("score > \(threshold * 20)")])
        }
        try daemon.populate(count: 1_000)
        let client = try daemon.client()
        let flipped = try (0..<200).map { index in
            try #require(try client.call("contacts.create", ["name": .string("flip\(index)"), "fields": ["score": "0"]]).string("uuid"))
        }
        try daemon.waitUntilReady()
        let rebuilt = Atomic<Bool>(false)
        let written = try onThreads(2) { index -> Int in
            let client = try daemon.client()
            if index == 1 {
                usleep(300_000)
                try client.call("projections.rebuild", ["name": "contacts"])
                let deadline = Date().addingTimeInterval(300)
                while Date() < deadline, !daemon.log().contains("projection rebuild complete") { usleep(50_000) }
                rebuilt.store(true, ordering: .relaxed)
                return 0
            }
            var commands = 0
            while !rebuilt.load(ordering: .relaxed) {
                let score = commands % 2 == 0 ? "100" : "0"
                let answer = try client.call("contacts.bulk_modify", ["query": "score >= 0", "modifiers": [ContactKit.field("score", score)]])
                #expect(answer.int("changed") == 200, "\(answer)")
                try client.call("contacts.modify", ["uuid": .string(flipped[commands % flipped.count]), "modifiers": [["type": "name", "name": .string("single\(commands)")]]])
                commands += 1
            }
            return commands
        }
        #expect(daemon.log().contains("projection rebuild complete"), "the rebuild did not swap while the bulk commands went on (\(written[0]) of them)")
        let status = try daemon.waitUntilReady()
        #expect(status.int("position") == status.int("head_seq"))
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        // The last bulk command's scores decide every group's members.
        let last = try daemon.call("contacts.count", ["query": "score > 90"]).int("total")
        for group in try #require(try daemon.call("groups.list")["groups"]?.arrayValue) {
            #expect(group.int("count") == last, "\(group)")
        }
    }
}
