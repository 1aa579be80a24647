// ContactLedger — benchmarks.
import Dispatch
import Foundation
import RPC
import Synchronization

/// Monotonic time in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    DispatchTime.now().uptimeNanoseconds
}

/// Latency percentiles of a set of operations, in milliseconds.
struct LatencySummary: Codable, Sendable {
    var p50: Double
    var p90: Double
    var p99: Double
    var max: Double

    /// Summarizes `nanoseconds` (nearest-rank percentiles); all zero when it is empty.
    init(nanoseconds: [UInt64]) {
        let sorted = nanoseconds.sorted()
        func rank(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = Swift.min(sorted.count - 1, Swift.max(0, Int((Double(sorted.count) * fraction).rounded(.up)) - 1))
            return Double(sorted[index]) / 1_000_000
        }
        self.p50 = rank(0.50)
        self.p90 = rank(0.90)
        self.p99 = rank(0.99)
        self.max = rank(1.0)
    }
}

/// What one load phase measured.
struct LoadResult: Sendable {
    /// Concurrent clients (threads, one connection each).
    var clients: Int
    /// Successful operations, all threads together.
    var operations: Int
    /// Operations that failed (counted, not timed).
    var errors: Int
    /// The first failure seen, for the report.
    var firstError: String?
    /// From the start signal to the end of the last thread's last operation.
    var elapsedSeconds: Double
    /// Successful operations per second.
    var operationsPerSecond: Double { self.elapsedSeconds > 0 ? Double(self.operations) / self.elapsedSeconds : 0 }
    /// Latency of the successful operations.
    var latency: LatencySummary
}

/// One thread's tally.
private struct ThreadTally: Sendable {
    var operations = 0
    var errors = 0
    var firstError: String?
    var latencies: [UInt64] = []
    var finishedAt: UInt64 = 0
}

/// The shared state of a phase: the start gate, the deadline and the tallies.
private final class PhaseState: Sendable {
    /// Start-gate bookkeeping: who is ready, when to stop, what failed in set-up.
    struct Gate {
        var ready = 0
        var deadline: UInt64?
        var setupFailure: String?
    }

    let gate = Mutex(Gate())
    let tallies: Mutex<[ThreadTally?]>
    let allReady = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)

    init(clients: Int) {
        self.tallies = Mutex(Array(repeating: nil, count: clients))
    }
}

/// Runs `clients` OS threads (not Swift tasks: the RPC client blocks, and blocking the cooperative pool
/// would serialize the clients), each repeating one operation until `seconds` have passed.
///
/// `prepare(index)` runs on thread `index` before the clock starts (open a connection, build state) and
/// returns that thread's operation; the operation gets its iteration number. Every thread waits at a
/// gate until all are prepared, so connection set-up is not measured.
///
/// - Throws: ``BenchError`` when a thread's `prepare` fails.
func runLoad(
    clients: Int,
    seconds: Double,
    prepare: @escaping @Sendable (Int) throws -> (Int) throws -> Void
) throws -> LoadResult {
    let state = PhaseState(clients: clients)
    for index in 0..<clients {
        let thread = Thread {
            var tally = ThreadTally()
            let operation: ((Int) throws -> Void)?
            do {
                operation = try prepare(index)
            } catch {
                operation = nil
                state.gate.withLock { $0.setupFailure = $0.setupFailure ?? "thread \(index): \(error)" }
            }
            if state.gate.withLock({ gate -> Bool in
                gate.ready += 1
                return gate.ready == clients
            }) {
                state.allReady.signal()
            }
            state.go.wait()
            let deadline = state.gate.withLock { $0.deadline } ?? 0
            if let operation {
                tally.latencies.reserveCapacity(1 << 14)
                var iteration = 0
                while monotonicNanoseconds() < deadline {
                    let started = monotonicNanoseconds()
                    do {
                        try operation(iteration)
                        tally.latencies.append(monotonicNanoseconds() - started)
                        tally.operations += 1
                    } catch {
                        tally.errors += 1
                        if tally.firstError == nil { tally.firstError = "\(error)" }
                        // A lost connection will not come back: stop this client.
                        if error is RPCClient.TransportError { break }
                    }
                    iteration += 1
                }
            }
            tally.finishedAt = monotonicNanoseconds()
            let finished = tally
            state.tallies.withLock { $0[index] = finished }
            state.done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    state.allReady.wait()
    let started = monotonicNanoseconds()
    state.gate.withLock { $0.deadline = started + UInt64(seconds * 1_000_000_000) }
    for _ in 0..<clients { state.go.signal() }
    for _ in 0..<clients { state.done.wait() }
    if let failure = state.gate.withLock({ $0.setupFailure }) {
        throw BenchError("client set-up failed: \(failure)")
    }
    let tallies = state.tallies.withLock { $0.compactMap { $0 } }
    let end = tallies.map(\.finishedAt).max() ?? started
    return LoadResult(
        clients: clients,
        operations: tallies.reduce(0) { $0 + $1.operations },
        errors: tallies.reduce(0) { $0 + $1.errors },
        firstError: tallies.compactMap(\.firstError).first,
        elapsedSeconds: Double(end - started) / 1_000_000_000,
        latency: LatencySummary(nanoseconds: tallies.flatMap(\.latencies))
    )
}
