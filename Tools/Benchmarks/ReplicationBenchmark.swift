// ContactLedger — benchmarks.
import ArgumentParser
import Dispatch
import Foundation
import NATSClient
import RPC
import Synchronization
import TestSupport

/// `ledger-bench replication`: the primary's publisher beside a raw JetStream publish of the same
/// payloads, a replica's catch-up beside a raw fetch of the same stream, and the replication lag
/// (commit on the primary → visible on the replica) under paced write loads (issue 9).
struct ReplicationBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replication",
        abstract: "Publisher and replica catch-up events/s beside raw JetStream publish/fetch; replication lag p50/p99 under paced loads.",
        discussion: """
            Starts a single-node nats-server (JetStream, store in a temporary directory) and fills a
            primary with --events events (contacts.create with four fields, five events each, in JSON-RPC
            batches), then restarts it with --replicate: the publisher's events/s over that backlog. The
            same client library then fetches the stream with a durable pull consumer (explicit acks, as the
            replica does) and publishes the first --baseline-events payloads, byte for byte, with their
            message ids and expected last sequences, in batches of 256 as the publisher does, to a second
            stream: the raw baselines. A replica started with --follow then catches up from the whole
            stream: its events/s. Last, for each rate of --rates, clients offer that many events/s to the
            primary for --seconds (paced JSON-RPC batches on 64 connections); events.subscribe on the
            primary and on the replica time each event's commit and its arrival on the replica: the lag
            percentiles. A rate the primary cannot sustain is reported with the rate it reached.
            """
    )

    @OptionGroup var options: JobDaemonOptions

    @Option(name: .long, help: "Events in the primary's log before replication starts: the publisher's backlog and the replica's catch-up.")
    var events: Int = 1_000_000

    @Option(name: .long, help: "Payloads in the raw publish baseline (the first ones of the stream).")
    var baselineEvents: Int = 100_000

    @Option(name: .long, help: "Offered events/s of the lag phases, comma-separated.")
    var rates: String = "1000,10000"

    @Option(name: .long, help: "Seconds each lag phase offers its rate.")
    var seconds: Double = 10

    @Option(name: .long, help: "Seconds to wait for the publisher, the replica or the lag phase's drain before giving up.")
    var timeout: Double = 900

    /// The stream the primary publishes to and the replica follows.
    static let stream = "BENCH"
    /// The stream of the raw publish baseline.
    static let rawStream = "RAWBENCH"

    func validate() throws {
        guard self.events >= 1000 else { throw ValidationError("--events must be at least 1000.") }
        guard self.baselineEvents >= 100 else { throw ValidationError("--baseline-events must be at least 100.") }
        guard self.seconds > 0, self.timeout > 0 else { throw ValidationError("--seconds and --timeout must be positive.") }
        _ = try Self.parseRates(self.rates)
        guard NATSServerProcess.isAvailable else { throw ValidationError("nats-server is not installed (apt-get install nats-server).") }
    }

    static func parseRates(_ text: String) throws -> [Int] {
        let rates = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !rates.isEmpty, rates.count == text.split(separator: ",").count, rates.allSatisfy({ (1...1_000_000).contains($0) }) else {
            throw ValidationError("--rates must be events/s like 1000,10000; got '\(text)'.")
        }
        return rates
    }

    /// The whole run.
    struct Report: Codable, Sendable {
        var benchmark = "replication"
        var logEvents: UInt64
        var fillEventsPerSecond: Double
        var publisher: Rate
        var rawPublish: Rate
        var replicaCatchUp: Rate
        var rawFetch: Rate
        var lag: [LagPhase]
    }

    /// Events moved in some seconds.
    struct Rate: Codable, Sendable {
        var events: UInt64
        var seconds: Double
        var eventsPerSecond: Double

        init(events: UInt64, seconds: Double) {
            self.events = events
            self.seconds = seconds
            self.eventsPerSecond = Double(events) / max(seconds, 1e-9)
        }
    }

    /// One paced load and the lag it saw.
    struct LagPhase: Codable, Sendable {
        var offeredEventsPerSecond: Int
        var achievedEventsPerSecond: Double
        /// Whether the primary took at least 95% of the offered rate.
        var sustained: Bool
        var events: Int
        var errors: Int
        var firstError: String?
        /// Commit on the primary → visible on the replica, per event.
        var lagMs: LatencySummary
        /// From the end of the load until the replica held its last event.
        var drainSeconds: Double
    }

    func run() throws {
        let nats = try NATSServerProcess()
        progress("replication: nats-server with JetStream on \(nats.url)")
        let primary = try DaemonProcess(executable: self.options.daemon, keep: self.options.keepData)
        defer { primary.stop() }
        try FieldRichContacts.defineFields(daemon: primary)
        let creates = (self.events + FieldRichContacts.eventsPerCreate - 1) / FieldRichContacts.eventsPerCreate
        progress("replication: filling the primary with \(creates) contacts.create (\(FieldRichContacts.eventsPerCreate) events each)")
        let fill = try BatchRPC.fill(
            socketPath: primary.socketPath, total: creates, batchSize: self.options.batch, connections: self.options.connections, progressLabel: "creates"
        ) { index in
            FieldRichContacts.create(index, prefix: "Replica")
        }
        let head = UInt64(try primary.call("system.health")["head_seq"]?.integerValue ?? 0)

        progress("replication: restarting the primary with --replicate; publishing its \(head) events")
        primary.stop(keepData: true)
        primary.extraArguments = ["--replicate", nats.url, "--stream", Self.stream]
        let publishStarted = monotonicNanoseconds()
        try primary.start()
        _ = try poll(every: 0.02, timeout: self.timeout, what: "the publisher to publish the backlog") { () -> Bool? in
            let published = try primary.call("system.stats")["replication"]?["published_seq"]?.integerValue ?? 0
            return UInt64(published) >= head ? true : nil
        }
        let publisher = Rate(events: head, seconds: secondsSince(publishStarted))

        progress("replication: raw baselines with the same NATS client: fetch \(head), publish \(min(UInt64(self.baselineEvents), head))")
        let (rawFetch, rawPublish) = try Self.rawBaselines(url: nats.url, events: head, publish: min(UInt64(self.baselineEvents), head), timeout: self.timeout)

        progress("replication: a replica catching up from the \(head)-event stream")
        let replica = try DaemonProcess(executable: self.options.daemon, keep: self.options.keepData)
        defer { replica.stop() }
        replica.stop(keepData: true)
        replica.extraArguments = ["--follow", nats.url, "--stream", Self.stream]
        let catchUpStarted = monotonicNanoseconds()
        try replica.start()
        _ = try poll(every: 0.05, timeout: self.timeout, what: "the replica to catch up") { () -> Bool? in
            UInt64(try replica.call("system.health")["head_seq"]?.integerValue ?? 0) >= head ? true : nil
        }
        let catchUp = Rate(events: head, seconds: secondsSince(catchUpStarted))

        var phases: [LagPhase] = []
        for rate in try Self.parseRates(self.rates) {
            progress("replication: lag under \(rate) offered events/s for \(formatted(self.seconds, 1)) s")
            phases.append(try LagProbe.measure(primary: primary, replica: replica, eventsPerSecond: rate, seconds: self.seconds, timeout: self.timeout))
        }
        let report = Report(
            logEvents: head, fillEventsPerSecond: Double(head) / max(fill.seconds, 1e-9), publisher: publisher, rawPublish: rawPublish,
            replicaCatchUp: catchUp, rawFetch: rawFetch, lag: phases
        )
        if self.options.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
    }

    /// Fetches the whole stream with a durable pull consumer (explicit acks), keeping the first `publish`
    /// messages, then publishes those to ``rawStream`` exactly as the publisher does.
    static func rawBaselines(url: String, events: UInt64, publish: UInt64, timeout: Double) throws -> (fetch: Rate, publish: Rate) {
        try runBlocking {
            let client = NATSClient(configuration: try .init(url: url))
            try await client.connect()
            let jetStream = JetStream(client: client, timeout: .seconds(30))
            _ = try await jetStream.createConsumer(stream: Self.stream, config: ConsumerConfig(durableName: "bench_raw", ackWait: .seconds(60), maxAckPending: 2048))
            let consumer = try jetStream.pullConsumer(stream: Self.stream, name: "bench_raw")
            var kept: [JetStreamMessage] = []
            kept.reserveCapacity(Int(publish))
            var fetched: UInt64 = 0
            let deadline = ContinuousClock.now + .seconds(timeout)
            let fetchStarted = monotonicNanoseconds()
            while fetched < events {
                guard ContinuousClock.now < deadline else { throw BenchError("the raw fetch timed out after \(fetched) messages") }
                let messages = try await consumer.fetch(batch: 512, maxWait: .seconds(1))
                try consumer.ack(messages)
                fetched += UInt64(messages.count)
                if kept.count < Int(publish) { kept += messages.prefix(Int(publish) - kept.count) }
            }
            let fetch = Rate(events: fetched, seconds: secondsSince(fetchStarted))
            consumer.close()
            try await jetStream.deleteConsumer(stream: Self.stream, name: "bench_raw")

            _ = try await jetStream.createStream(StreamConfig(name: Self.rawStream, subjects: ["\(Self.rawStream.lowercased()).>"]))
            let outgoing = kept.enumerated().map { index, message in
                JetStream.Outgoing(
                    subject: Self.rawStream.lowercased() + "." + message.subject.split(separator: ".", maxSplits: 1).dropFirst().joined(),
                    payload: message.payload,
                    messageID: message.headers?["Nats-Msg-Id"],
                    expectedLastSequence: UInt64(index)
                )
            }
            let publishStarted = monotonicNanoseconds()
            var stored: UInt64 = 0
            for start in stride(from: 0, to: outgoing.count, by: 256) {
                for result in try await jetStream.publishBatch(Array(outgoing[start..<min(outgoing.count, start + 256)])) {
                    let ack = try result.get()
                    guard ack.seq == stored + 1 else { throw BenchError("raw publish stored at \(ack.seq), expected \(stored + 1)") }
                    stored = ack.seq
                }
            }
            let published = Rate(events: stored, seconds: secondsSince(publishStarted))
            await client.close()
            return (fetch, published)
        }
    }

    /// Prints the run as tables.
    static func printTable(_ report: Report) {
        print("log: \(report.logEvents) events (contacts.create with 4 fields, filled at \(formatted(report.fillEventsPerSecond)) events/s)")
        var table = TextTable(headers: ["measure", "events", "seconds", "events/s", "vs baseline"])
        table.rows.append([
            "publisher: backlog → JetStream (restart to published)", "\(report.publisher.events)", formatted(report.publisher.seconds, 2),
            formatted(report.publisher.eventsPerSecond), ratioText(report.publisher.eventsPerSecond, report.rawPublish.eventsPerSecond),
        ])
        table.rows.append([
            "baseline: raw JetStream publish, same payloads and client", "\(report.rawPublish.events)", formatted(report.rawPublish.seconds, 2),
            formatted(report.rawPublish.eventsPerSecond), "1.00x",
        ])
        table.rows.append([
            "replica catch-up: stream → LMDB log + read models", "\(report.replicaCatchUp.events)", formatted(report.replicaCatchUp.seconds, 2),
            formatted(report.replicaCatchUp.eventsPerSecond), ratioText(report.replicaCatchUp.eventsPerSecond, report.rawFetch.eventsPerSecond),
        ])
        table.rows.append([
            "baseline: raw pull-consumer fetch + ack, same client", "\(report.rawFetch.events)", formatted(report.rawFetch.seconds, 2),
            formatted(report.rawFetch.eventsPerSecond), "1.00x",
        ])
        print(table.rendered())
        print("")
        print("replication lag: commit on the primary → visible on the replica (events.subscribe on both)")
        var lag = TextTable(headers: ["offered ev/s", "achieved ev/s", "events", "p50 ms", "p90 ms", "p99 ms", "max ms", "drain s", "errors"])
        for phase in report.lag {
            lag.rows.append([
                "\(phase.offeredEventsPerSecond)", formatted(phase.achievedEventsPerSecond) + (phase.sustained ? "" : " (max sustained)"),
                "\(phase.events)", formatted(phase.lagMs.p50, 2), formatted(phase.lagMs.p90, 2), formatted(phase.lagMs.p99, 2),
                formatted(phase.lagMs.max, 2), formatted(phase.drainSeconds, 2), "\(phase.errors)",
            ])
        }
        print(lag.rendered())
        for phase in report.lag {
            if let error = phase.firstError { print("  first error at \(phase.offeredEventsPerSecond) ev/s: \(error)") }
        }
    }
}

/// Runs `body` on the cooperative pool and blocks this (non-pool) thread until it finishes.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let result: Result<T, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        outcome.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    guard let result = outcome.withLock({ $0 }) else { throw BenchError("the async task ended without a result") }
    return try result.get()
}
