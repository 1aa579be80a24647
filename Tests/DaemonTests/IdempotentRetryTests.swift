// ContactLedger — daemon tests.
import Foundation
import RPC
import Testing

/// A retry is the same command however it spells what the daemon reads alike (found by the contract audit:
/// adding `"workspace": "main"` or an optional param as `null` on a retry answered -32002, where the
/// contract promises the first answer).
struct IdempotentRetryTests {
    @Test func aRetrySpellingOutDefaultsGetsTheFirstAnswer() throws {
        let daemon = try DaemonHarness()
        let first = try daemon.call("contacts.create", ["name": "Ida", "idempotency_key": "k1"])
        for retry: JSONValue in [
            ["name": "Ida", "idempotency_key": "k1", "workspace": "main"],
            ["name": "Ida", "idempotency_key": "k1", "language": .null, "actor": .null],
            ["name": "Ida", "idempotency_key": "k1", "workspace": "main", "urns": .null],
        ] {
            #expect(try daemon.call("contacts.create", retry) == first, "\(retry)")
        }
        // Spelled out the first time, plain on the retry.
        let spelled = try daemon.call("contacts.create", ["name": "Bo", "idempotency_key": "k2", "workspace": "main", "fields": .null])
        #expect(try daemon.call("contacts.create", ["name": "Bo", "idempotency_key": "k2"]) == spelled)
        #expect(try daemon.call("system.health").int("head_seq") == spelled.int("seq"))
        // What the command does or records still counts: another name, an actor, another workspace's key.
        for reuse: JSONValue in [
            ["name": "Ida B", "idempotency_key": "k1"],
            ["name": "Ida", "idempotency_key": "k1", "actor": "ana"],
        ] {
            let refused = try daemon.error("contacts.create", reuse)
            #expect(refused.code == -32002 && refused.data("reason") == "idempotency_key_reused", "\(reuse): \(refused)")
        }
        let elsewhere = try daemon.call("contacts.create", ["name": "Ida", "idempotency_key": "k1", "workspace": "second"])
        #expect(elsewhere.string("uuid") != first.string("uuid"))
    }
}
