// ContactLedger — daemon tests: answers a client does not read.
import Foundation
import RPC
import TestSupport
import Testing

/// A client that asks for big answers and reads none of them costs the daemon a bounded amount of
/// memory. Found by a resource audit: 57 lines of 5 KB, each a batch of 50 `events.read {limit: 1000}`
/// (32 MB of answer each), made the daemon hold 2 GB.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct UnreadAnswersTests {
    static let contacts = 3_000

    /// About 60 KB of answer.
    static func eventsRead(id: Int) -> JSONValue {
        ["jsonrpc": "2.0", "id": .integer(Int64(id)), "method": "events.read", "params": ["limit": 100]]
    }

    /// A daemon whose connections each hold at most 4 MiB of unread answers.
    static func daemon() throws -> DaemonHarness {
        let daemon = try DaemonHarness(arguments: ["--max-unread-answer-bytes", "4MiB"])
        try daemon.populate(count: Self.contacts)
        return daemon
    }

    @Test func unreadBatchAnswersAreBoundedAndTheRestRefused() throws {
        let daemon = try Self.daemon()
        let pid = try #require(daemon.process?.processIdentifier)
        let attacker = try RawSocket(path: daemon.socketPath)
        // 40 lines of 30 batched reads: about 1.8 MB of answer per line, 72 MB in all.
        var lines: [UInt8] = []
        for line in 0..<40 {
            lines += JSONLine.encode(JSONValue.array((0..<30).map { Self.eventsRead(id: line * 30 + $0) })) + [10]
        }
        #expect(attacker.send(lines, until: Date().addingTimeInterval(10)) == lines.count)
        // Until the daemon has done what it will for the lines it took (system.stats is the one running).
        var statistics: JSONValue = .null
        let deadline = Date().addingTimeInterval(90)
        repeat {
            usleep(200_000)
            statistics = try #require(try daemon.call("system.stats")["long_calls"])
        } while !(statistics.int("running") == 1 && statistics.int("waiting") == 0) && Date() < deadline
        let resident = try #require(ReliabilitySupport.residentBytes(of: pid))
        #expect(resident < 200 << 20, "the daemon holds \(resident >> 20) MB for a client that reads nothing")

        // Read everything: the answers made first are whole, the calls past the budget were refused.
        var results = 0
        var refusals = 0
        var answered = 0
        while answered < 40, let line = attacker.readValue(until: Date().addingTimeInterval(60)) {
            answered += 1
            for answer in line.arrayValue ?? [] {
                if answer["result"]?["items"]?.arrayValue?.count == 100 {
                    results += 1
                } else if let error = answer["error"] {
                    #expect(error.int("code") == -32006)
                    #expect(error["data"]?.string("reason") == "unread_answers_over_budget")
                    #expect(error["data"]?.int("limit") == 4 << 20)
                    refusals += 1
                } else {
                    Issue.record("unexpected answer \(String(describing: answer).prefix(300))")
                }
            }
        }
        #expect(answered == 40)
        #expect(results >= 60, "\(results) reads answered")
        #expect(refusals > 0 && results + refusals == 1200, "\(results) answered, \(refusals) refused")
        // Once its answers are read, the connection is served as before.
        let again = JSONLine.encode(Self.eventsRead(id: 9999)) + [10]
        #expect(attacker.send(again, until: Date().addingTimeInterval(10)) == again.count)
        #expect(attacker.readValue(until: Date().addingTimeInterval(30))?["result"]?["items"]?.arrayValue?.count == 100)
    }

    @Test func unreadSingleAnswersAreAllAnsweredLater() throws {
        let daemon = try Self.daemon()
        let client = try RawSocket(path: daemon.socketPath)
        // 300 single reads, about 18 MB of answers, none read for a while: the connection stops taking
        // lines past its budget, and no call is refused.
        var lines: [UInt8] = []
        for id in 1...300 { lines += JSONLine.encode(Self.eventsRead(id: id)) + [10] }
        #expect(client.send(lines, until: Date().addingTimeInterval(20)) == lines.count)
        sleep(2)
        var answered = 0
        while answered < 300, let answer = client.readValue(until: Date().addingTimeInterval(60)) {
            #expect(answer["result"]?["items"]?.arrayValue?.count == 100, "\(String(describing: answer).prefix(300))")
            answered += 1
        }
        #expect(answered == 300)
    }
}
