// ContactLedger — daemon tests: hostile input on the socket.
import Foundation
import TestSupport
import RPC
import Testing

/// Hostile bytes against the real daemon: every input gets a clear JSON-RPC error (never -32603, never
/// silence), and after each burst the daemon still answers `system.health` and its chain verifies.
/// Random parts are seeded (`CONTACTLEDGER_FUZZ_SEED` replays a run; the seed is printed).
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct FuzzRPCTests {
    /// Codes a hostile request may get. -32603 (an unhandled error) and -32005 (storage) are bugs here.
    static let clearCodes: Set<Int> = [-32700, -32600, -32601, -32602, -32001, -32002, -32003, -32004, -32006, -32007]

    /// Sends one line and returns the first answer that is not a notification.
    static func ask(_ socket: RawSocket, _ line: [UInt8], seconds: Double = 20) -> JSONValue? {
        let deadline = Date().addingTimeInterval(seconds)
        guard socket.send(line + [10], until: deadline) == line.count + 1 else { return nil }
        while let answer = socket.readValue(until: deadline) {
            if answer["id"] == nil, answer["method"] != nil { continue }
            return answer
        }
        return nil
    }

    static func ask(_ socket: RawSocket, _ text: String, seconds: Double = 20) -> JSONValue? {
        Self.ask(socket, Array(text.utf8), seconds: seconds)
    }

    static func request(_ method: String, _ params: JSONValue, id: Int = 1) -> [UInt8] {
        Array(ReliabilitySupport.requestLine(id: id, method: method, params: params).dropLast())
    }

    /// The daemon is alive, answers health on a new connection, and its chain verifies.
    static func expectAlive(_ daemon: DaemonHarness, after burst: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(daemon.process?.isRunning == true, "the daemon died after \(burst): \(daemon.log().suffix(2000))", sourceLocation: sourceLocation)
        try #require(ReliabilitySupport.answersHealth(daemon), "no system.health answer after \(burst)", sourceLocation: sourceLocation)
        #expect(try daemon.call("ledger.verify")["verified"] == true, "ledger.verify after \(burst)", sourceLocation: sourceLocation)
    }

    /// The error code of an answer, recording an issue when there is none or it is not a clear one.
    @discardableResult
    static func expectClearError(
        _ answer: JSONValue?, _ what: String, allowed: Set<Int> = Self.clearCodes, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int? {
        guard let answer else {
            Issue.record("no answer to \(what)", sourceLocation: sourceLocation)
            return nil
        }
        guard let code = answer["error"]?.int("code") else {
            Issue.record("\(what) was not refused: \(String(describing: answer).prefix(300))", sourceLocation: sourceLocation)
            return nil
        }
        #expect(allowed.contains(Int(code)), "\(what) answered \(code): \(String(describing: answer["error"]).prefix(300))", sourceLocation: sourceLocation)
        return Int(code)
    }

    // MARK: - Bytes

    @Test func randomBytesAndMutatedRequests() throws {
        let seed = SeededGenerator.announcedSeed("rpc random bytes")
        var random = SeededGenerator(seed: seed)
        let daemon = try DaemonHarness(arguments: ["--max-line-bytes", "65536"])
        let socket = try RawSocket(path: daemon.socketPath)
        // Random lines that are not blank: exactly one answer each, -32700 or -32600, id null.
        var executions = 0
        for index in 0..<400 {
            let length = Int.random(in: 1...(index % 10 == 0 ? 4000 : 200), using: &random)
            var line = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }.filter { $0 != 10 }
            let firstChoices: [UInt8] = Array(33...126) + Array(128...255)
            line.insert(firstChoices[Int.random(in: 0..<firstChoices.count, using: &random)], at: 0)
            let answer = Self.ask(socket, line)
            executions += 1
            if let code = Self.expectClearError(answer, "random line \(index) [seed \(seed)]", allowed: [-32700, -32600]) {
                _ = code
                #expect(answer?["id"] == .null, "random line \(index) [seed \(seed)]: id \(String(describing: answer?["id"]))")
            }
        }
        try Self.expectAlive(daemon, after: "random byte lines [seed \(seed)]")

        // Valid requests with bytes flipped, dropped or inserted, pipelined with a sentinel: any
        // answer is fine except -32603, and the sentinel always comes back.
        let bases: [[UInt8]] = [
            Self.request("system.health", [:]),
            Self.request("contacts.create", ["name": "Mutant", "urns": ["ext:mutant"], "fields": [:]]),
            Self.request("contacts.search", ["query": "name ~ mu", "limit": 5]),
            Self.request("events.read", ["after_seq": 0, "limit": 3, "types": ["contact_created"]]),
            Array(#"[{"jsonrpc":"2.0","id":1,"method":"system.health"},{"jsonrpc":"2.0","id":2,"method":"contacts.count","params":{"query":""}}]"#.utf8),
        ]
        var internalErrors: [String] = []
        for index in 0..<600 {
            var line = bases[index % bases.count]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0..<max(line.count, 1), using: &random)
                switch Int.random(in: 0...2, using: &random) {
                case 0: line[position] = UInt8.random(in: 0...255, using: &random)
                case 1: line.remove(at: position)
                default: line.insert(UInt8.random(in: 32...126, using: &random), at: position)
                }
            }
            line.removeAll { $0 == 10 }
            let sentinel = Self.request("system.health", [:], id: 900_000 + index)
            let deadline = Date().addingTimeInterval(20)
            guard socket.send(line + [10] + sentinel + [10], until: deadline) == line.count + sentinel.count + 2 else {
                Issue.record("could not send mutated line \(index) [seed \(seed)]")
                break
            }
            executions += 1
            var gotSentinel = false
            while !gotSentinel, let answer = socket.readValue(until: deadline) {
                if answer["id"] == .integer(Int64(900_000 + index)) { gotSentinel = true }
                for element in answer.arrayValue ?? [answer] where element["error"]?.int("code") == -32603 {
                    internalErrors.append(String(decoding: line.prefix(300), as: UTF8.self))
                }
            }
            #expect(gotSentinel, "no answer to the sentinel after mutated line \(index): \(String(decoding: line.prefix(200), as: UTF8.self)) [seed \(seed)]")
            if !gotSentinel { break }
        }
        #expect(internalErrors.isEmpty, "-32603 for mutated requests [seed \(seed)]: \(internalErrors.prefix(3))")
        print("rpc random bytes: \(executions) lines")
        try Self.expectAlive(daemon, after: "mutated requests [seed \(seed)]")
    }

    @Test func deepNestingIsRefused() throws {
        let daemon = try DaemonHarness()
        let socket = try RawSocket(path: daemon.socketPath)
        let depth = 10_000
        let cases: [(String, String)] = [
            ("10k open brackets", String(repeating: "[", count: depth)),
            ("10k nested arrays", String(repeating: "[", count: depth) + String(repeating: "]", count: depth)),
            ("10k nested objects", String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)),
            ("10k nested params", #"{"jsonrpc":"2.0","id":1,"method":"contacts.create","params":{"name":"#
                + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}}"),
            ("10k nested hierarchy", #"{"jsonrpc":"2.0","id":1,"method":"workspace.set_locations","params":{"hierarchy":"#
                + String(repeating: #"{"name":"n","children":["#, count: depth) + String(repeating: "]}", count: depth) + "}}"),
            ("400 nested hierarchy", #"{"jsonrpc":"2.0","id":1,"method":"workspace.set_locations","params":{"hierarchy":"#
                + String(repeating: #"{"name":"n","children":["#, count: 400) + String(repeating: "]}", count: 400) + "}}"),
            ("10k nested query", #"{"jsonrpc":"2.0","id":1,"method":"contacts.search","params":{"query":""#
                + String(repeating: "(", count: depth) + "age > 1" + String(repeating: ")", count: depth) + #""}}"#),
        ]
        for (label, text) in cases {
            Self.expectClearError(Self.ask(socket, text), label)
            try Self.expectAlive(daemon, after: label)
        }
    }

    @Test func hugeNumbersAreRefused() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let contact = try daemon.call("contacts.create", ["name": "Num"])
        let uuid = try #require(contact.string("uuid"))
        let socket = try RawSocket(path: daemon.socketPath)
        let forty = "1234567890123456789012345678901234567890"
        // Ids: any clear answer (or a result) will do, as long as the daemon lives.
        for id in ["1e400", forty, "-" + forty, "1e-400", "0.1e99999"] {
            let answer = Self.ask(socket, #"{"jsonrpc":"2.0","id":"# + id + #","method":"system.health"}"#)
            #expect(answer != nil, "no answer for id \(id)")
            if let code = answer?["error"]?.int("code") { #expect(Self.clearCodes.contains(Int(code)), "id \(id): \(code)") }
            try Self.expectAlive(daemon, after: "id \(id)")
        }
        let params: [(String, String)] = [
            ("events.read", #"{"limit":1e400}"#), ("events.read", #"{"limit":\#(forty)}"#), ("events.read", #"{"limit":-\#(forty)}"#),
            ("events.read", #"{"limit":1.5}"#), ("events.read", #"{"after_seq":\#(forty)}"#), ("events.read", #"{"after_seq":-1}"#),
            ("ledger.verify", #"{"from_seq":\#(forty)}"#), ("ledger.verify", #"{"to_seq":1e400}"#),
            ("contacts.modify", #"{"uuid":"\#(uuid)","expected_version":\#(forty),"modifiers":[{"type":"name","name":"x"}]}"#),
            ("contacts.history", #"{"uuid":"\#(uuid)","after":{"seq":\#(forty)}}"#),
            ("fields.update", #"{"key":"age","priority":\#(forty)}"#), ("contacts.search", #"{"query":"","limit":1e400}"#),
            ("contacts.search", #"{"query":"age > \#(forty)\#(forty)"}"#), ("contacts.search", #"{"query":"age > 1e400"}"#),
        ]
        for (method, json) in params {
            let answer = Self.ask(socket, #"{"jsonrpc":"2.0","id":7,"method":"\#(method)","params":\#(json)}"#)
            if method == "contacts.search", json.contains("age >") {
                // A valid query on a huge number: a result or -32004.
                if let code = answer?["error"]?.int("code") { #expect(code == -32004, "\(method) \(json): \(code)") }
                #expect(answer != nil, "no answer to \(method) \(json)")
            } else if method == "events.read", json.contains("after_seq\":1234") {
                // Past the head: an empty page or a refusal.
                if let code = answer?["error"]?.int("code") { #expect(code == -32602, "\(method) \(json): \(code)") }
                #expect(answer != nil, "no answer to \(method) \(json)")
            } else if json.contains("1e400") {
                // Out of Double's range: Foundation's parser refuses the line (-32700), which is clear too.
                Self.expectClearError(answer, "\(method) \(json)", allowed: [-32700, -32602, -32006])
            } else {
                Self.expectClearError(answer, "\(method) \(json)", allowed: [-32602, -32006])
            }
        }
        // A number field set to huge values stores the text and answers.
        for value in [forty + forty, "1e400", "-1e-400", String(repeating: "9", count: 640)] {
            let answer = Self.ask(socket, Self.request("contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "field", "field": "age", "value": .string(value)]]]))
            #expect(answer?["result"] != nil || answer?["error"]?.int("code") == -32602, "age = \(value.prefix(20)): \(String(describing: answer).prefix(300))")
        }
        try Self.expectAlive(daemon, after: "huge numbers")
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"]?.arrayValue?.isEmpty == true)
    }

    @Test func nulBytesAndInvalidUTF8AreRefused() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "nick", "type": "text"])
        let socket = try RawSocket(path: daemon.socketPath)
        // Escaped NULs in values that are stored: -32602 naming the member.
        let nul: [(String, JSONValue, String)] = [
            ("contacts.create", ["name": "a\u{0}b"], "name"),
            ("contacts.create", ["fields": ["nick": "a\u{0}b"]], "fields.nick"),
            ("contacts.create", ["urns": ["ext:a\u{0}b"]], "urns[0]"),
            ("contacts.create", ["workspace": "ma\u{0}in"], "workspace"),
            ("fields.create", ["key": "k\u{0}", "type": "text"], "key"),
        ]
        for (method, params, field) in nul {
            let answer = Self.ask(socket, Self.request(method, params))
            Self.expectClearError(answer, "\(method) \(params)", allowed: [-32602])
            #expect(answer?["error"]?["data"]?.string("field") == field, "\(method) \(params): \(String(describing: answer?["error"]))")
        }
        // NULs where they are only read or recorded: a clear answer either way.
        for (method, params) in [
            ("contacts.search", ["query": "name = \"a\u{0}\""]), ("contacts.get", ["urn": "ext:\u{0}"]),
            ("groups.create", ["name": "g\u{0}"]), ("contacts.create", ["actor": "a\u{0}"]),
            ("contacts.create", ["idempotency_key": "k\u{0}k"]), ("contacts.parse_query", ["query": "\u{0}"]),
        ] as [(String, JSONValue)] {
            let answer = Self.ask(socket, Self.request(method, params))
            #expect(answer != nil, "no answer to \(method) \(params)")
            if let code = answer?["error"]?.int("code") { #expect(Self.clearCodes.contains(Int(code)), "\(method) \(params): \(code)") }
        }
        // A raw NUL byte inside a string is not JSON.
        Self.expectClearError(Self.ask(socket, Array(#"{"jsonrpc":"2.0","id":1,"method":"contacts.create","params":{"name":"a"#.utf8) + [0] + Array(#"b"}}"#.utf8)), "raw NUL", allowed: [-32700])
        // Invalid UTF-8 anywhere: -32700.
        let prefix = Array(#"{"jsonrpc":"2.0","id":1,"method":"contacts.create","params":{"name":""#.utf8)
        let suffix = Array(#""}}"#.utf8)
        let invalid: [(String, [UInt8])] = [
            ("lone continuation", [0x80]), ("overlong NUL", [0xC0, 0x80]), ("overlong slash", [0xE0, 0x80, 0xAF]),
            ("UTF-16 surrogate", [0xED, 0xA0, 0x80]), ("beyond U+10FFFF", [0xF4, 0x90, 0x80, 0x80]), ("F5 byte", [0xF5, 0x80, 0x80, 0x80]),
            ("truncated sequence", [0xE2, 0x82]), ("FF FE", [0xFF, 0xFE]),
        ]
        for (label, bytes) in invalid {
            Self.expectClearError(Self.ask(socket, prefix + bytes + suffix), "invalid UTF-8 in a value (\(label))", allowed: [-32700])
            Self.expectClearError(Self.ask(socket, Array(#"{"jsonrpc":"2.0","id":1,"method":"contacts."#.utf8) + bytes + Array(#"create"}"#.utf8)), "invalid UTF-8 in the method (\(label))", allowed: [-32700])
            Self.expectClearError(Self.ask(socket, Array(#"{"jsonrpc":"2.0","id":1,"method":"contacts.create","params":{""#.utf8) + bytes + Array(#"":1}}"#.utf8)), "invalid UTF-8 in a key (\(label))", allowed: [-32700])
        }
        // A truncated sequence at the very end of the line.
        Self.expectClearError(Self.ask(socket, Array(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#.utf8) + [0xE2]), "truncated UTF-8 at the end", allowed: [-32700])
        // Escaped lone surrogates: refused, or stored and read back intact.
        for escaped in [#"\ud800"#, #"\udfff"#, #"\ud800\u0041"#] {
            let answer = Self.ask(socket, #"{"jsonrpc":"2.0","id":1,"method":"contacts.create","params":{"name":"x\#(escaped)"}}"#)
            #expect(answer != nil, "no answer to a name with \(escaped)")
            if let code = answer?["error"]?.int("code") { #expect(code == -32700 || code == -32602, "\(escaped): \(code)") }
        }
        try Self.expectAlive(daemon, after: "NUL bytes and invalid UTF-8")
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"]?.arrayValue?.isEmpty == true)
    }

    // MARK: - Sizes

    @Test func megabyteStringsAreRefused() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "nick", "type": "text"])
        let contact = try daemon.call("contacts.create", ["name": "Big"])
        let uuid = try #require(contact.string("uuid"))
        let socket = try RawSocket(path: daemon.socketPath)
        let mega = String(repeating: "x", count: 1 << 20)
        let cases: [(String, JSONValue, Set<Int>)] = [
            ("contacts.create", ["name": .string(mega)], [-32006]),
            ("contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "name", "name": .string(mega)]]], [-32006]),
            ("contacts.create", ["actor": .string(mega)], [-32006]),
            ("contacts.create", ["idempotency_key": .string(mega)], [-32006]),
            ("contacts.create", ["workspace": .string(mega)], [-32602]),
            ("contacts.create", ["urns": [.string("ext:" + mega)]], [-32602, -32006]),
            ("contacts.create", ["urns": [.string("mailto:" + mega + "@example.org")]], [-32602, -32006]),
            ("contacts.create", ["language": .string(mega)], [-32602, -32006]),
            ("contacts.search", ["query": .string(mega)], [-32004, -32006]),
            ("contacts.search", ["query": "", "sort": .string(mega)], [-32602, -32006]),
            ("contacts.get", ["uuid": .string(mega)], [-32602]),
            ("fields.create", ["key": .string(mega), "type": "text"], [-32602, -32006]),
            ("fields.create", ["key": "k2", "name": .string(mega), "type": "text"], [-32602, -32006]),
            ("groups.create", ["name": .string(mega)], [-32602, -32006]),
            ("messages.receive", ["urn": "ext:big", "text": .string(mega)], [-32602, -32006]),
            ("events.read", ["cursor": .string(mega)], [-32602]),
            (mega, [:], [-32601]),
        ]
        for (method, params, allowed) in cases {
            var keys: [String] = []
            if case .object(let members) = params { keys = members.keys.sorted() }
            let label = "\(method.prefix(20)) \(keys)"
            let started = Date()
            let answer = Self.ask(socket, Self.request(method, params), seconds: 30)
            Self.expectClearError(answer, "1 MB in \(label)", allowed: allowed)
            #expect(Date().timeIntervalSince(started) < 10, "1 MB in \(label) took \(Date().timeIntervalSince(started)) s")
        }
        // A field value is cut to 640 characters (RapidPro's rule) or refused.
        let field = Self.ask(socket, Self.request("contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "field", "field": "nick", "value": .string(mega)]]]))
        if let code = field?["error"]?.int("code") {
            #expect(code == -32602 || code == -32006, "1 MB field value: \(code)")
        } else {
            let text = field?["result"]?["fields"]?["nick"]?.string("text")
            #expect(text.map { $0.count <= 640 } == true, "1 MB field value kept \(text?.count ?? -1) characters")
        }
        try Self.expectAlive(daemon, after: "1 MB strings")
    }

    /// Multi-byte text at each documented character limit must not overflow LMDB's 511-byte key limit
    /// into an internal error.
    @Test func multiByteTextAtTheLimitsGetsAClearAnswer() throws {
        let daemon = try DaemonHarness()
        let socket = try RawSocket(path: daemon.socketPath)
        let emoji = "😀"
        let cases: [(String, JSONValue)] = [
            ("idempotency_key of 128 emoji", ["name": "k", "idempotency_key": .string(String(repeating: emoji, count: 128))]),
            ("ext URN of 200 emoji", ["urns": [.string("ext:" + String(repeating: emoji, count: 200))]]),
            ("mailto URN of 60 emoji", ["urns": [.string("mailto:" + String(repeating: emoji, count: 60) + "@example.org")]]),
            ("workspace of 64 characters", ["workspace": .string(String(repeating: "w", count: 64)), "idempotency_key": .string(String(repeating: emoji, count: 128))]),
        ]
        for (label, params) in cases {
            let answer = Self.ask(socket, Self.request("contacts.create", params))
            #expect(answer != nil, "no answer to contacts.create with \(label)")
            if let error = answer?["error"] {
                let reference = error["data"]?.string("reference") ?? "-"
                let logged = daemon.log().split(separator: "\n").first { $0.contains(reference) } ?? ""
                #expect(Self.clearCodes.contains(Int(error.int("code") ?? 0)), "contacts.create with \(label): \(error) — daemon log: \(logged)")
            }
        }
        let group = Self.ask(socket, Self.request("groups.create", ["name": .string(String(repeating: emoji, count: 64))]))
        if let error = group?["error"] { #expect(Self.clearCodes.contains(Int(error.int("code") ?? 0)), "groups.create with 64 emoji: \(error)") }
        try Self.expectAlive(daemon, after: "multi-byte limits")
    }

    /// libphonenumber takes time quadratic in a `tel` path, and URNs are normalized on the single
    /// writer thread: one long `tel` URN must not stall everybody else's writes.
    @Test func aLongTelURNDoesNotStallOtherWrites() throws {
        let daemon = try DaemonHarness()
        let attacker = try RawSocket(path: daemon.socketPath)
        let digits = String(repeating: "9", count: 50_000)
        let line = Self.request("contacts.create", ["urns": [.string("tel:+" + digits)]])
        #expect(attacker.send(line + [10], until: Date().addingTimeInterval(5)) == line.count + 1)
        usleep(200_000)
        // Another client's ordinary write.
        let started = Date()
        let other = try RawSocket(path: daemon.socketPath)
        let answer = Self.ask(other, Self.request("contacts.create", ["name": "Bystander"]), seconds: 10)
        let elapsed = Date().timeIntervalSince(started)
        #expect(answer?["result"]?.string("uuid") != nil && elapsed < 2,
            "a plain contacts.create waited \(elapsed) s (answer: \(String(describing: answer).prefix(200))) behind a 50,000-digit tel URN")
        let refusal = attacker.readValue(until: Date().addingTimeInterval(elapsed < 2 ? 10 : 0.1))
        if let refusal { Self.expectClearError(refusal, "a 50,000-digit tel URN", allowed: [-32602, -32006]) }
        // The daemon may still be busy; the harness kills it.
    }

    @Test func oversizedBatchesAreRefused() throws {
        let daemon = try DaemonHarness()
        let socket = try RawSocket(path: daemon.socketPath)
        func batch(_ count: Int) -> [UInt8] {
            var line: [UInt8] = [UInt8(ascii: "[")]
            for index in 0..<count {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                line += Array(#"{"jsonrpc":"2.0","id":\#(index),"method":"system.health"}"#.utf8)
            }
            return line + [UInt8(ascii: "]")]
        }
        let huge = Self.ask(socket, batch(100_000), seconds: 60)
        Self.expectClearError(huge, "a 100,000-element batch", allowed: [-32006])
        #expect(huge?["error"]?["data"]?.int("limit") == 10_000)
        #expect(huge?["id"] == .null)
        let over = Self.ask(socket, batch(10_001), seconds: 60)
        #expect(over?["error"]?.int("code") == -32006)
        // At the limit every element is answered.
        let full = Self.ask(socket, batch(10_000), seconds: 60)
        #expect(full?.arrayValue?.count == 10_000, "a 10,000-element batch got \(full?.arrayValue?.count ?? -1) answers")
        try Self.expectAlive(daemon, after: "oversized batches")
        if let pid = daemon.process?.processIdentifier, let rss = ReliabilitySupport.residentBytes(of: pid) {
            #expect(rss < 600 << 20, "RSS after the batches: \(rss >> 20) MB")
        }
    }

    @Test func halfWrittenLinesThenCloseExecuteNothing() throws {
        let seed = SeededGenerator.announcedSeed("half-written lines")
        var random = SeededGenerator(seed: seed)
        let daemon = try DaemonHarness()
        let full = Self.request("contacts.create", ["name": "Half", "urns": ["ext:half"]])
        for index in 0..<200 {
            let socket = try RawSocket(path: daemon.socketPath)
            let cut = Int.random(in: 1..<full.count, using: &random)
            _ = socket.send(Array(full.prefix(cut)), until: Date().addingTimeInterval(5))
            if index % 2 == 0 { socket.shutdown() }
        }
        // Complete lines after the half ones, on connections that close at once.
        for _ in 0..<50 {
            let socket = try RawSocket(path: daemon.socketPath)
            _ = socket.send(Self.request("system.health", [:]) + [10] + Array(full.prefix(full.count / 2)), until: Date().addingTimeInterval(5))
        }
        usleep(300_000)
        try Self.expectAlive(daemon, after: "half-written lines")
        let stats = try daemon.call("system.stats")
        #expect(stats["counts"]?.int("contacts") == 0, "a half-written create was executed: \(stats)")
        // Observation, not a rule of the contract: a whole request whose newline never came.
        let unterminated = try RawSocket(path: daemon.socketPath)
        _ = unterminated.send(full, until: Date().addingTimeInterval(5))
        unterminated.shutdown()
        usleep(300_000)
        let after = try daemon.call("system.stats")["counts"]?.int("contacts") ?? -1
        print("half-written lines: a complete request without its newline, then EOF, was \(after == 1 ? "executed" : "not executed")")
    }

    // MARK: - Methods

    /// Random params built from the contract's member names for every method, on four connections.
    @Test func randomMethodsAndParams() throws {
        let seed = SeededGenerator.announcedSeed("rpc methods")
        let daemon = try DaemonHarness()
        let sandbox = daemon.directory + "-fuzz"
        try FileManager.default.createDirectory(atPath: sandbox, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: sandbox) }
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("fields.create", ["key": "joined", "type": "datetime"])
        let group = try daemon.call("groups.create", ["name": "Fuzzers"])
        var uuids: [String] = []
        for index in 0..<10 {
            uuids.append(try #require(try daemon.call("contacts.create", ["name": .string("f\(index)"), "urns": [.string("ext:f\(index)")], "fields": ["age": .string("\(index)")]]).string("uuid")))
        }
        let context = FuzzVocabulary(uuids: uuids, group: group.string("uuid") ?? "", sandbox: sandbox)
        let perThread = 800
        let outcomes = try onThreads(4) { thread -> (Int, [String], [Int: Int]) in
            var random = SeededGenerator(seed: seed &+ UInt64(thread))
            let socket = try RawSocket(path: daemon.socketPath)
            var problems: [String] = []
            var codes: [Int: Int] = [:]
            var executions = 0
            for index in 0..<perThread {
                let method = FuzzVocabulary.methods[Int.random(in: 0..<FuzzVocabulary.methods.count, using: &random)]
                let params = context.params(for: method, using: &random)
                let line = Self.request(method, params, id: index)
                executions += 1
                guard let answer = Self.ask(socket, line, seconds: 30) else {
                    problems.append("no answer: \(method) \(String(describing: params).prefix(300))")
                    break
                }
                if answer["id"] != .integer(Int64(index)) { problems.append("wrong id for \(method): \(String(describing: answer).prefix(200))") }
                if let code = answer["error"]?.int("code") {
                    codes[Int(code), default: 0] += 1
                    if !Self.clearCodes.contains(Int(code)) {
                        problems.append("\(code) for \(method) \(String(describing: params).prefix(400)): \(String(describing: answer["error"]).prefix(300))")
                    }
                } else {
                    codes[0, default: 0] += 1
                }
            }
            return (executions, problems, codes)
        }
        let problems = outcomes.flatMap(\.1)
        var codes: [Int: Int] = [:]
        for outcome in outcomes { codes.merge(outcome.2, uniquingKeysWith: +) }
        print("rpc methods: \(outcomes.map(\.0).reduce(0, +)) calls, answers by code (0 = result): \(codes.sorted { $0.key < $1.key })")
        #expect(problems.isEmpty, "[seed \(seed)] \(problems.count) unclear answers, e.g.: \(problems.prefix(5).joined(separator: "\n"))")
        #expect((codes[0] ?? 0) > 100, "too few calls succeeded to exercise the methods: \(codes)")
        try Self.expectAlive(daemon, after: "random methods [seed \(seed)]")
        let differences = try daemon.call("projections.verify", ["name": "contacts"])["differences"]?.arrayValue ?? []
        #expect(differences.isEmpty, "[seed \(seed)] the read model differs from a rebuild: \(differences.prefix(10))")
    }
}

/// The values random params are drawn from.
struct FuzzVocabulary: Sendable {
    let uuids: [String]
    let group: String
    let sandbox: String

    static let methods = [
        "system.health", "system.stats", "workspace.configure", "workspace.get", "workspace.set_locations", "workspace.locations",
        "fields.create", "fields.update", "fields.delete", "fields.list", "fields.usage", "groups.create", "groups.update",
        "groups.delete", "groups.list", "groups.members", "contacts.create", "contacts.get", "contacts.modify",
        "contacts.bulk_modify", "contacts.delete", "contacts.history", "contacts.as_of", "contacts.diff", "contacts.messages",
        "contacts.search", "contacts.count", "contacts.parse_query", "messages.receive", "messages.send", "events.read",
        "ledger.verify", "audit.changes", "ledger.backup", "projections.status", "projections.verify", "events.subscribe",
        "events.unsubscribe", "imports.start", "imports.status", "exports.start", "exports.status", "contacts.fly", "",
    ]

    static let keys = [
        "workspace", "actor", "idempotency_key", "name", "language", "status", "urns", "fields", "groups", "uuid", "urn",
        "modifiers", "expected_version", "query", "sort", "limit", "cursor", "as_of", "after", "before", "types", "at", "from",
        "to", "after_seq", "from_seq", "to_seq", "key", "type", "featured", "priority", "default_country", "timezone",
        "date_format", "anonymous", "hierarchy", "path", "content_base64", "format", "dry_run", "group", "import", "export",
        "text", "channel", "external_id", "uuids", "subscription", "peer_uid", "field",
    ]

    static let strings = [
        "", " ", "main", "second", "age", "joined", "nick", "Fuzzers", "name ~ f", "age > 3", "joined < 2020-01-01",
        "((", "tel:+250788123123", "tel:0788 123 123", "ext:f1", "whatsapp:250788123123", "mailto:A@B.C", "bogus:x",
        "eng", "fra", "xx", "active", "blocked", "stopped", "archived", "number", "text", "datetime", "state", "ward",
        "RW", "US", "XX", "Africa/Kigali", "Mars/Base", "DD-MM-YYYY", "YYYY-MM-DD", "csv", "xlsx", "contacts", "-id", "name",
        "1", "0", "-1", "2026-01-01T00:00:00Z", "not-a-date", "7b9a3c1e-1111-4222-8333-944445555666", "😀", "\u{0}",
        "contact_created", "contact_field_changed", "nope_type", "append", "remove", "set", "add", "field", "urns",
    ]

    func string(using random: inout SeededGenerator) -> String {
        switch Int.random(in: 0...9, using: &random) {
        case 0...5: return Self.strings[Int.random(in: 0..<Self.strings.count, using: &random)]
        case 6: return self.uuids.isEmpty ? "" : self.uuids[Int.random(in: 0..<self.uuids.count, using: &random)]
        case 7: return self.group
        case 8: return String(repeating: "a", count: Int.random(in: 0...300, using: &random))
        default: return String((0..<Int.random(in: 0...12, using: &random)).map { _ in Character(Unicode.Scalar(UInt8.random(in: 32...126, using: &random))) })
        }
    }

    func value(depth: Int = 0, using random: inout SeededGenerator) -> JSONValue {
        switch Int.random(in: 0...(depth > 1 ? 5 : 8), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .integer([0, 1, -1, 5, 1000, 1001, Int64.max, Int64.min][Int.random(in: 0...7, using: &random)])
        case 3: return .double([0.5, -2.5, 1e300][Int.random(in: 0...2, using: &random)])
        case 4, 5: return .string(self.string(using: &random))
        case 6: return .array((0..<Int.random(in: 0...3, using: &random)).map { _ in self.value(depth: depth + 1, using: &random) })
        case 7:
            // Something shaped like a modifier.
            return [
                "type": .string(["name", "language", "status", "field", "urns", "groups", "bogus"][Int.random(in: 0...6, using: &random)]),
                "name": .string(self.string(using: &random)), "field": .string(["age", "joined", "nick"][Int.random(in: 0...2, using: &random)]),
                "value": self.value(depth: depth + 1, using: &random), "action": .string(["append", "remove", "set", "add", "x"][Int.random(in: 0...4, using: &random)]),
                "urns": [.string(self.string(using: &random))], "groups": [.string(self.group)], "status": .string(self.string(using: &random)),
                "seq": .integer(Int64.random(in: -1...50, using: &random)),
            ]
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                members[Self.keys[Int.random(in: 0..<Self.keys.count, using: &random)]] = self.value(depth: depth + 1, using: &random)
            }
            return .object(members)
        }
    }

    /// A plausible, often valid, starting point for `method`.
    func template(for method: String, using random: inout SeededGenerator) -> [String: JSONValue] {
        let uuid = JSONValue.string(self.uuids.isEmpty ? "" : self.uuids[Int.random(in: 0..<self.uuids.count, using: &random)])
        let tag = Int.random(in: 0...1_000_000, using: &random)
        switch method {
        case "contacts.create":
            return ["name": .string("n\(tag)"), "urns": [.string("ext:r\(tag)")], "fields": ["age": .string("\(tag % 90)")], "groups": [.string(self.group)]]
        case "contacts.modify":
            return ["uuid": uuid, "modifiers": [self.value(depth: 0, using: &random), ["type": "field", "field": "age", "value": .string("\(tag % 90)")]]]
        case "contacts.bulk_modify":
            return ["query": .string("age > \(tag % 90)"), "modifiers": [["type": "name", "name": .string("b\(tag)")]]]
        case "contacts.get", "contacts.history", "contacts.messages", "contacts.delete": return ["uuid": uuid]
        case "contacts.as_of": return ["uuid": uuid, "at": ["seq": .integer(Int64(tag % 40))]]
        case "contacts.diff": return ["uuid": uuid, "from": ["seq": 1], "to": ["seq": .integer(Int64(tag % 40))]]
        case "contacts.search": return ["query": .string(self.string(using: &random)), "limit": .integer(Int64(tag % 20 + 1)), "sort": "name"]
        case "contacts.count", "contacts.parse_query": return ["query": .string(self.string(using: &random))]
        case "messages.receive": return ["urn": .string("ext:f\(tag % 10)"), "text": .string(self.string(using: &random))]
        case "messages.send": return ["uuid": uuid, "text": "hi"]
        case "fields.create": return ["key": .string("k\(tag % 50)"), "type": .string(["text", "number", "datetime", "state"][tag % 4])]
        case "fields.update": return ["key": "age", "featured": .bool(tag % 2 == 0), "priority": .integer(Int64(tag % 5))]
        case "groups.create": return ["name": .string("g\(tag % 30)"), "query": tag % 2 == 0 ? "age > 5" : .null]
        case "groups.members": return ["uuid": .string(self.group), "limit": 5]
        case "events.read": return ["after_seq": .integer(Int64(tag % 40)), "limit": 10]
        case "ledger.verify": return ["from_seq": 1, "to_seq": .integer(Int64(tag % 40 + 1))]
        case "audit.changes": return ["field": "age", "limit": 10]
        case "workspace.configure": return ["default_country": "RW", "timezone": "Africa/Kigali"]
        case "imports.start": return ["format": "csv", "content_base64": .string(Data("URN:Ext,Name\next:i\(tag),Imp\n".utf8).base64EncodedString())]
        case "exports.start": return ["format": .string(tag % 2 == 0 ? "csv" : "xlsx"), "query": ""]
        case "projections.verify", "projections.status": return ["name": "contacts"]
        default: return [:]
        }
    }

    func params(for method: String, using random: inout SeededGenerator) -> JSONValue {
        var members: [String: JSONValue] = Bool.random(using: &random) ? self.template(for: method, using: &random) : [:]
        for _ in 0..<Int.random(in: 0...(members.isEmpty ? 5 : 1), using: &random) {
            let key = Self.keys[Int.random(in: 0..<Self.keys.count, using: &random)]
            members[key] = self.value(using: &random)
        }
        // Files only ever go to the sandbox; the workspace stays one of two.
        if members["path"] != nil || ["ledger.backup", "exports.start"].contains(method) {
            members["path"] = .string(self.sandbox + "/p\(Int.random(in: 0...1_000_000, using: &random))")
        }
        if let workspace = members["workspace"], workspace.stringValue.map({ ["main", "second"].contains($0) }) != true,
            Bool.random(using: &random)
        {
            members["workspace"] = "main"
        }
        if members["content_base64"] != nil {
            let bytes = (0..<Int.random(in: 0...400, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let zip: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
            members["content_base64"] = .string(Data((Bool.random(using: &random) ? zip : []) + bytes).base64EncodedString())
        }
        return .object(members)
    }
}
