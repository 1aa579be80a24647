// ContactLedger — NATS client tests.
import Foundation
import TestSupport
import NIOCore
import Synchronization
import Testing

@testable import NATSClient

@Suite("NATS protocol")
struct NATSProtocolTests {
    @Test("headers round-trip, with a status line and repeated names")
    func headers() throws {
        var headers = NATSHeaders([("Nats-Msg-Id", "abc")])
        headers.append("X-Twice", "1")
        headers.append("X-Twice", "2")
        let parsed = try #require(NATSHeaders.parse(headers.encoded()))
        #expect(parsed["nats-msg-id"] == "abc")
        #expect(parsed.fields.count == 3)
        let status = try #require(NATSHeaders.parse(Array("NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 3\r\n\r\n".utf8)))
        #expect(status.status == 408)
        #expect(status.statusDescription == "Request Timeout")
        #expect(status["Nats-Pending-Messages"] == "3")
    }

    @Test("the decoder splits MSG, HMSG and control lines, waiting for whole bodies")
    func decoder() throws {
        var buffer = ByteBuffer(string: "INFO {\"server_id\":\"x\"}\r\nPING\r\nMSG a.b 7 reply.to 5\r\nhello\r\nHMSG c 2 18 20\r\nNATS/1.0\r\nK: v\r\n\r\nhi\r\n+OK\r\n-ERR 'Unknown'\r\nMSG partial 1 10\r\nabc")
        var operations: [ServerOperation] = []
        while let operation = try NATSFrameDecoder.parse(&buffer) { operations.append(operation) }
        #expect(operations.count == 6)
        guard operations.count == 6 else { return }
        if case .message(let message) = operations[2] {
            #expect(message.subject == "a.b")
            #expect(message.sid == 7)
            #expect(message.replyTo == "reply.to")
            #expect(message.payload == Array("hello".utf8))
        } else {
            Issue.record("expected MSG")
        }
        if case .message(let message) = operations[3] {
            #expect(message.headers?["K"] == "v")
            #expect(message.payload == Array("hi".utf8))
            #expect(message.replyTo == nil)
        } else {
            Issue.record("expected HMSG")
        }
        if case .error(let text) = operations[5] { #expect(text == "Unknown") } else { Issue.record("expected -ERR") }
        // The partial MSG stays in the buffer until its body is complete.
        #expect(buffer.readableBytesView.starts(with: Array("MSG partial".utf8)))
        buffer.writeString("defghij\r\n")
        guard case .message(let message)? = try NATSFrameDecoder.parse(&buffer) else {
            Issue.record("expected the completed MSG")
            return
        }
        #expect(message.payload == Array("abcdefghij".utf8))
    }

    @Test("URLs")
    func urls() throws {
        let configuration = try NATSClient.Configuration(url: "nats://127.0.0.1:4333")
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 4333)
        #expect(throws: NATSError.self) { try NATSClient.Configuration(url: "http://127.0.0.1:4222") }
        let pool = try NATSClient.Configuration(url: "nats://127.0.0.1:4333, nats://localhost,nats://127.0.0.1:4335")
        #expect(pool.servers == [.init(host: "127.0.0.1", port: 4333), .init(host: "localhost", port: 4222), .init(host: "127.0.0.1", port: 4335)])
        #expect(pool.port == 4333)
        #expect(throws: NATSError.self) { try NATSClient.Configuration(url: "nats://127.0.0.1:4333,") }
        #expect(throws: NATSError.self) { try NATSClient.Configuration(url: "nats://127.0.0.1:4333,http://127.0.0.1:1") }
        #expect(try NATSClient.Configuration(url: "nats://[::1]:4333").servers == [.init(host: "::1", port: 4333)])
        // Taken and ignored before: a truncated port, credentials never sent, a path, a query.
        for url in ["nats://127.0.0.1:99999", "nats://127.0.0.1:0", "nats://user:pw@127.0.0.1:4222", "nats://127.0.0.1:4222/x", "nats://127.0.0.1:4222?a=1"] {
            #expect(throws: NATSError.self, "\(url)") { try NATSClient.Configuration(url: url) }
        }
    }
}

/// Collects values from handlers called on NIO threads.
final class Collected<T: Sendable>: Sendable {
    private let values = Mutex<[T]>([])
    func append(_ value: T) { self.values.withLock { $0.append(value) } }
    var all: [T] { self.values.withLock { $0 } }

    /// Waits until `count` values arrived (or the time is up).
    func wait(count: Int, seconds: Double = 5) async -> [T] {
        let deadline = Date().addingTimeInterval(seconds)
        while self.all.count < count, Date() < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        return self.all
    }
}

@Suite("NATS against nats-server", .serialized, .enabled(if: NATSServerProcess.isAvailable))
struct NATSServerTests {
    /// A client connected to `server` whose connection has answered a PING. A freshly started server
    /// under heavy load (the whole suite running in parallel) may drop the very first connection, so a
    /// few attempts are made.
    func connected(_ server: NATSServerProcess) async throws -> NATSClient {
        var attempt = 0
        while true {
            attempt += 1
            let client = NATSClient(configuration: try .init(url: server.url))
            do {
                try await client.connect()
                try await client.flush()
                return client
            } catch {
                await client.close()
                guard attempt < 5 else { throw error }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    @Test("publish and subscribe, with and without headers")
    func pubSub() async throws {
        let server = try NATSServerProcess()
        let client = try await self.connected(server)
        let received = Collected<NATSMessage>()
        try client.subscribe(to: "greet.*") { received.append($0) }
        try await client.flush()
        try client.publish(Array("one".utf8), to: "greet.a")
        try client.publish(Array("two".utf8), to: "greet.b", headers: NATSHeaders([("X-Test", "yes")]))
        try client.publish(Array("ignored".utf8), to: "other")
        let messages = await received.wait(count: 2)
        #expect(messages.map { String(decoding: $0.payload, as: UTF8.self) } == ["one", "two"])
        #expect(messages.last?.headers?["X-Test"] == "yes")
        #expect(messages.first?.headers == nil)
        await client.close()
        #expect(client.status == .closed)
    }

    @Test("request and reply through the inbox; no responders")
    func requestReply() async throws {
        let server = try NATSServerProcess()
        let responder = try await self.connected(server)
        let requester = try await self.connected(server)
        try responder.subscribe(to: "echo") { message in
            guard let reply = message.replyTo else { return }
            try? responder.publish(Array("re: ".utf8) + message.payload, to: reply, headers: message.headers)
        }
        try await responder.flush()
        let answer = try await requester.request(Array("hi".utf8), to: "echo", headers: NATSHeaders([("K", "v")]))
        #expect(String(decoding: answer.payload, as: UTF8.self) == "re: hi")
        #expect(answer.headers?["K"] == "v")
        let batch = try await requester.requestBatch((0..<50).map { NATSClient.Request(subject: "echo", payload: Array("\($0)".utf8)) })
        #expect(try batch.map { String(decoding: try $0.get().payload, as: UTF8.self) } == (0..<50).map { "re: \($0)" })
        await #expect(throws: NATSError.noResponders) { try await requester.request([], to: "nobody.listens") }
        await responder.close()
        await requester.close()
    }

    @Test("reconnects with back-off after the server restarts; subscriptions come back")
    func reconnect() async throws {
        let server = try NATSServerProcess()
        let client = try await self.connected(server)
        let received = Collected<String>()
        try client.subscribe(to: "after") { received.append(String(decoding: $0.payload, as: UTF8.self)) }
        try await client.flush()
        let generation = client.connectionGeneration
        server.kill()
        // Give the client time to notice and try a few times while the server is away.
        try await Task.sleep(for: .milliseconds(500))
        #expect(client.status != .connected)
        #expect(throws: NATSError.self) { try client.publish([], to: "after") }
        try server.start()
        let deadline = Date().addingTimeInterval(10)
        while client.status != .connected, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(client.status == .connected)
        #expect(client.connectionGeneration == generation + 1)
        try client.publish(Array("back".utf8), to: "after")
        #expect(await received.wait(count: 1) == ["back"])
        await client.close()
    }

    @Test("a pool of servers: the first one down at connect, then the connected one killed: the client moves on")
    func serverPool() async throws {
        let first = try NATSServerProcess()
        let second = try NATSServerProcess()
        first.kill()
        let client = NATSClient(configuration: try .init(url: "\(first.url),\(second.url)"))
        try await client.connect()
        try await client.flush()
        #expect(String(decoding: client.serverInfo, as: UTF8.self).contains("\"port\":\(second.port)"))
        try first.start()
        let generation = client.connectionGeneration
        second.kill()
        let deadline = Date().addingTimeInterval(20)
        while client.connectionGeneration == generation || client.status != .connected, Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(client.status == .connected)
        #expect(String(decoding: client.serverInfo, as: UTF8.self).contains("\"port\":\(first.port)"))
        try await client.flush()
        await client.close()
    }

    @Test("JetStream: stream, publish with message id and expected last sequence")
    func jetStreamPublish() async throws {
        let server = try NATSServerProcess()
        let client = try await self.connected(server)
        let js = JetStream(client: client)
        let info = try await js.ensureStream(StreamConfig(name: "TEST", subjects: ["test.>"]))
        #expect(info.state.lastSeq == 0)
        await #expect(throws: JetStreamError.self) { try await js.streamInfo("MISSING") }
        let first = try await js.publish(.init(subject: "test.a", payload: Array("1".utf8), messageID: "m1", expectedLastSequence: 0))
        #expect(first.seq == 1)
        #expect(first.duplicate != true)
        let duplicate = try await js.publish(.init(subject: "test.a", payload: Array("1".utf8), messageID: "m1"))
        #expect(duplicate.seq == 1)
        #expect(duplicate.duplicate == true)
        do {
            _ = try await js.publish(.init(subject: "test.a", payload: Array("x".utf8), messageID: "m9", expectedLastSequence: 5))
            Issue.record("expected a wrong-last-sequence error")
        } catch let error as JetStreamError {
            #expect(error.isWrongLastSequence)
        }
        let batch = try await js.publishBatch((2...100).map {
            JetStream.Outgoing(subject: "test.b", payload: Array("\($0)".utf8), messageID: "m\($0)", expectedLastSequence: UInt64($0 - 1))
        })
        #expect(try batch.map { try $0.get().seq } == Array(2...100))
        let state = try await js.streamInfo("TEST").state
        #expect(state.messages == 100)
        #expect(state.lastSeq == 100)
        let stored = try await js.message(stream: "TEST", seq: 1)
        #expect(stored.payload == Array("1".utf8))
        #expect(stored.headers?["Nats-Msg-Id"] == "m1")
        // Creating the same stream again is harmless.
        _ = try await js.createStream(StreamConfig(name: "TEST", subjects: ["test.>"]))

        // The description changes alone: a limit this client never sets (max_msgs, set here by hand) stays.
        let limited = #"{"name":"LIMITED","subjects":["limited.>"],"storage":"file","num_replicas":1,"max_msgs":1000}"#
        _ = try await client.request(Array(limited.utf8), to: "$JS.API.STREAM.CREATE.LIMITED")
        let described = try await js.setDescription("a claim", ofStream: "LIMITED")
        #expect(described.config.description == "a claim")
        let raw = try await client.request([], to: "$JS.API.STREAM.INFO.LIMITED")
        let config = try #require((try JSONSerialization.jsonObject(with: Data(raw.payload)) as? [String: Any])?["config"] as? [String: Any])
        #expect(config["max_msgs"] as? Int == 1000)
        #expect(config["description"] as? String == "a claim")

        // Erasing a message twice (a publisher retrying after a crash) is not an error the second time: it
        // was, and the publisher retried it for good.
        #expect(try await js.eraseMessage(stream: "TEST", seq: 2))
        #expect(try await js.eraseMessage(stream: "TEST", seq: 2) == false)
        await #expect(throws: JetStreamError.self) { try await js.message(stream: "TEST", seq: 2) }
        #expect(try await js.message(stream: "TEST", seq: 3).payload == Array("3".utf8))
        await client.close()
    }

    @Test("JetStream: durable pull consumer, fetch and ack, resumes after reconnect")
    func pullConsumer() async throws {
        let server = try NATSServerProcess()
        let client = try await self.connected(server)
        let js = JetStream(client: client)
        _ = try await js.ensureStream(StreamConfig(name: "PULL", subjects: ["pull.>"]))
        for index in 1...30 { _ = try await js.publish(.init(subject: "pull.x", payload: Array("\(index)".utf8))) }
        let created = try await js.createConsumer(stream: "PULL", config: ConsumerConfig(durableName: "reader", ackWait: .seconds(30)))
        #expect(created.numPending == 30)
        let consumer = try js.pullConsumer(stream: "PULL", name: "reader")
        var seen: [UInt64] = []
        while seen.count < 30 {
            let batch = try await consumer.fetch(batch: 8, maxWait: .seconds(2))
            #expect(!batch.isEmpty)
            if batch.isEmpty { break }
            #expect(batch.count <= 8)
            seen += batch.map(\.streamSequence)
            try consumer.ack(batch)
        }
        #expect(seen == Array(1...30))
        // Nothing more: an empty answer after the wait.
        let none = try await consumer.fetch(batch: 8, maxWait: .milliseconds(300))
        #expect(none.isEmpty)
        try await client.flush()
        let info = try await js.consumerInfo(stream: "PULL", name: "reader")
        #expect(info.ackFloor.streamSeq == 30)

        // Messages published after a server restart reach the same durable consumer.
        server.kill()
        try server.start()
        let deadline = Date().addingTimeInterval(10)
        while client.status != .connected, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        var published = false
        while !published, Date() < deadline {
            // JetStream may need a moment after the restart.
            published = (try? await js.publish(.init(subject: "pull.x", payload: Array("31".utf8), messageID: "31"))) != nil
            if !published { try await Task.sleep(for: .milliseconds(100)) }
        }
        var later: [JetStreamMessage] = []
        while later.isEmpty, Date() < deadline { later = try await consumer.fetch(batch: 8, maxWait: .seconds(1)) }
        #expect(later.map(\.streamSequence) == [31])
        #expect(later.first?.payload == Array("31".utf8))
        try consumer.ack(later)
        consumer.close()
        try await js.deleteConsumer(stream: "PULL", name: "reader")
        await #expect(throws: JetStreamError.self) { try await js.consumerInfo(stream: "PULL", name: "reader") }
        await client.close()
    }
}
