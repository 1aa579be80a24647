// ContactLedger — benchmarks.
import Dispatch
import Foundation
import RPC
import Synchronization

/// Replication lag under a paced write load: contacts.create offered at a fixed rate to the primary,
/// and `events.subscribe` on the primary and on the replica timing each event's commit and its arrival
/// on the replica (both clocks are this process's monotonic clock; the two subscriptions cost alike, so
/// their delivery time cancels out).
enum LagProbe {
    /// Offers `eventsPerSecond` for `seconds` and measures every event's lag.
    ///
    /// - Throws: ``BenchError`` when a subscription fails or the replica does not catch up in `timeout` s.
    static func measure(
        primary: DaemonProcess, replica: DaemonProcess, eventsPerSecond: Int, seconds: Double, timeout: Double
    ) throws -> ReplicationBenchmark.LagPhase {
        func head(_ daemon: DaemonProcess) throws -> UInt64 { UInt64(try daemon.call("system.health")["head_seq"]?.integerValue ?? 0) }
        // How many events one contacts.create with a name and a URN appends.
        let before = try head(primary)
        try primary.call("contacts.create", ["name": .string("Lag probe \(eventsPerSecond)"), "urns": [.string("ext:lag-probe-\(eventsPerSecond)")]])
        let perCreate = max(1, try head(primary) - before)
        let start = try head(primary)
        _ = try poll(every: 0.05, timeout: timeout, what: "the replica to catch up before the lag phase") { () -> Bool? in
            try head(replica) >= start ? true : nil
        }

        let onPrimary = try ArrivalRecorder(socketPath: primary.socketPath, after: start)
        let onReplica = try ArrivalRecorder(socketPath: replica.socketPath, after: start)
        let load = try PacedLoad.run(
            socketPath: primary.socketPath, createsPerSecond: Double(eventsPerSecond) / Double(perCreate), seconds: seconds, label: "\(eventsPerSecond)"
        )
        let end = try head(primary)
        let committed = try onPrimary.wait(through: end, timeout: timeout)
        let visible = try onReplica.wait(through: end, timeout: timeout)
        let lags = zip(committed, visible).map { commit, arrival in arrival > commit ? arrival - commit : 0 }
        let events = Int(end - start)
        // What the primary took while the rate was offered (batches not sent by the end were dropped).
        let achieved = Double(events) / seconds
        return ReplicationBenchmark.LagPhase(
            offeredEventsPerSecond: eventsPerSecond,
            achievedEventsPerSecond: achieved,
            sustained: achieved >= 0.95 * Double(eventsPerSecond),
            events: events,
            errors: load.errors,
            firstError: load.firstError,
            lagMs: LatencySummary(nanoseconds: lags),
            drainSeconds: Double((visible.last ?? load.finishedAt) - min(visible.last ?? load.finishedAt, load.finishedAt)) / 1_000_000_000
        )
    }
}

/// Subscribes to a daemon's events after a position and records when each one arrives, on its own
/// thread (the RPC client blocks). Only the `seq` is read from each notification line, so keeping up
/// costs little.
final class ArrivalRecorder: Sendable {
    private struct State {
        /// Arrival times of the events after `start`, in order.
        var times: [UInt64] = []
        var failure: String?
    }

    private let start: UInt64
    private let state = Mutex(State())

    /// Subscribes (the call's answer is awaited here) and starts the reading thread.
    ///
    /// - Throws: RPC errors of `events.subscribe`, ``RPCClient/TransportError``.
    init(socketPath: String, after start: UInt64) throws {
        self.start = start
        let client = try RPCClient(socketPath: socketPath)
        let early = Mutex<[UInt64]>([])
        try client.call("events.subscribe", ["after_seq": .integer(Int64(start))]) { notification in
            if let seq = notification["params"]?["event"]?["seq"]?.integerValue { early.withLock { $0.append(UInt64(seq)) } }
        }
        let now = monotonicNanoseconds()
        for seq in early.withLock({ $0 }) { self.record(seq: seq, at: now) }
        // The client moves to the thread, which alone uses it from now on.
        nonisolated(unsafe) let owned = client
        let thread = Thread { [self] in
            while true {
                let line: [UInt8]
                do {
                    line = try owned.readLine()
                } catch {
                    self.state.withLock { $0.failure = $0.failure ?? "subscription closed: \(error)" }
                    return
                }
                let arrived = monotonicNanoseconds()
                guard let seq = Self.seq(in: line) else {
                    if String(decoding: line.prefix(200), as: UTF8.self).contains("events.error") {
                        self.state.withLock { $0.failure = "events.error: \(String(decoding: line.prefix(300), as: UTF8.self))" }
                        return
                    }
                    continue
                }
                self.record(seq: seq, at: arrived)
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func record(seq: UInt64, at time: UInt64) {
        self.state.withLock { state in
            let expected = self.start + UInt64(state.times.count) + 1
            if seq == expected {
                state.times.append(time)
            } else if seq > expected {
                state.failure = state.failure ?? "gap: event \(seq) arrived, expected \(expected)"
            }
        }
    }

    /// Waits until the events through `end` have arrived; returns their arrival times in `seq` order.
    ///
    /// - Throws: ``BenchError`` when the subscription failed or `timeout` seconds pass.
    func wait(through end: UInt64, timeout: Double) throws -> [UInt64] {
        let count = Int(end - self.start)
        return try poll(every: 0.01, timeout: timeout, what: "events through \(end) on a subscription") { () -> [UInt64]? in
            let state = self.state.withLock { $0 }
            if let failure = state.failure, state.times.count < count { throw BenchError(failure) }
            return state.times.count >= count ? Array(state.times.prefix(count)) : nil
        }
    }

    /// The number after the first `"seq":` of a notification line: the event's position.
    static func seq(in line: [UInt8]) -> UInt64? {
        let key = Array(#""seq":"#.utf8)
        guard line.count > key.count else { return nil }
        var index = 0
        while index + key.count <= line.count {
            if line[index] == key[0], line[index..<(index + key.count)].elementsEqual(key) {
                var value: UInt64 = 0
                var position = index + key.count
                var digits = 0
                while position < line.count, line[position] >= 48, line[position] <= 57 {
                    value = value * 10 + UInt64(line[position] - 48)
                    position += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            index += 1
        }
        return nil
    }
}

/// An open-loop write load: contacts.create at a fixed rate, in JSON-RPC batches sent on schedule by
/// many connections, so that slow commits do not hold the next batches back (a late batch goes at once;
/// what is not sent by the end is dropped, so a primary that cannot keep up shows a lower achieved rate).
enum PacedLoad {
    /// What the load did.
    struct Outcome: Sendable {
        var creates: Int
        var errors: Int
        var firstError: String?
        /// When the last answer came (``monotonicNanoseconds()``).
        var finishedAt: UInt64
    }

    /// Batches per second, all connections together (fewer when the rate is lower).
    static let batchesPerSecond = 200.0
    /// Connections sending batches: up to this many batches wait for their commit at once.
    static let connections = 64

    /// Offers `createsPerSecond` for `seconds`; `label` keeps URNs unique across runs.
    ///
    /// - Throws: ``BenchError`` when a connection fails.
    static func run(socketPath: String, createsPerSecond: Double, seconds: Double, label: String) throws -> Outcome {
        let perBatch = max(1, Int((createsPerSecond / Self.batchesPerSecond).rounded()))
        let interval = Double(perBatch) / createsPerSecond
        struct Tally {
            var creates = 0
            var errors = 0
            var firstError: String?
            var failure: String?
            var finishedAt: UInt64 = 0
        }
        let tally = Mutex(Tally())
        let group = DispatchGroup()
        let started = monotonicNanoseconds() + 50_000_000
        let stopAt = started + UInt64(seconds * 1_000_000_000)
        for thread in 0..<Self.connections {
            group.enter()
            let worker = Thread {
                defer { group.leave() }
                do {
                    let client = try RPCClient(socketPath: socketPath)
                    var batch = 0
                    while true {
                        let due = started + UInt64(Double(batch * Self.connections + thread) * interval * 1_000_000_000)
                        let now = monotonicNanoseconds()
                        guard due < stopAt, now < stopAt else { break }
                        if due > now { usleep(UInt32((due - now) / 1000)) }
                        let calls = (0..<perBatch).map { index -> (method: String, params: JSONValue) in
                            let key = "\(label)-\(thread)-\(batch)-\(index)"
                            return ("contacts.create", ["name": .string("Lag \(key)"), "urns": [.string("ext:lag-\(key)")]])
                        }
                        let outcome = try BatchRPC.send(calls, on: client)
                        tally.withLock { state in
                            state.creates += perBatch - outcome.errors
                            state.errors += outcome.errors
                            if state.firstError == nil { state.firstError = outcome.firstError }
                        }
                        batch += 1
                    }
                } catch {
                    tally.withLock { $0.failure = $0.failure ?? "\(error)" }
                }
                let finished = monotonicNanoseconds()
                tally.withLock { $0.finishedAt = max($0.finishedAt, finished) }
            }
            worker.stackSize = 1 << 20
            worker.start()
        }
        group.wait()
        let state = tally.withLock { $0 }
        if let failure = state.failure { throw BenchError("paced load failed: \(failure)") }
        return Outcome(creates: state.creates, errors: state.errors, firstError: state.firstError, finishedAt: state.finishedAt)
    }
}
