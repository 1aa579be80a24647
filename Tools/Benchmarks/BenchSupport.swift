// ContactLedger — benchmarks.
import Dispatch
import Foundation
import LedgerStore
import Projections
import RPC
import Synchronization
import TestSupport

/// JSON-RPC batches: many requests on one line, answered by one line (the daemon serves a batch's
/// requests concurrently, so its writer commits them in groups).
enum BatchRPC {
    /// What one batch answered.
    struct Outcome: Sendable {
        /// The `result` of each request, in request order (nil where it failed).
        var results: [JSONValue?]
        /// Failed requests.
        var errors: Int
        /// The first error, for the report.
        var firstError: String?
    }

    /// Sends `calls` (method, params) as one batch on `client` and waits for the answer line.
    ///
    /// - Throws: ``RPCClient/TransportError`` when the connection fails or the answer is not a batch.
    static func send(_ calls: [(method: String, params: JSONValue)], on client: RPCClient) throws -> Outcome {
        let requests: [JSONValue] = calls.enumerated().map { index, call in
            ["jsonrpc": "2.0", "id": .integer(Int64(index + 1)), "method": .string(call.method), "params": call.params]
        }
        try client.send(raw: JSONLine.encode(JSONValue.array(requests)) + [UInt8(ascii: "\n")])
        var answer = try client.readValue()
        // Skip notifications (none are expected on a fresh connection, but they are allowed).
        while answer["method"] != nil, answer["id"] == nil { answer = try client.readValue() }
        guard let answers = answer.arrayValue else {
            throw BenchError("the daemon answered a batch with a non-array: \(answer)")
        }
        var results = [JSONValue?](repeating: nil, count: calls.count)
        var errors = 0
        var firstError: String?
        for item in answers {
            guard let id = item["id"]?.integerValue, id >= 1, Int(id) <= calls.count else {
                errors += 1
                if firstError == nil { firstError = "\(item)" }
                continue
            }
            if let error = item["error"] {
                errors += 1
                if firstError == nil { firstError = "\(error)" }
            } else {
                results[Int(id) - 1] = item["result"] ?? .null
            }
        }
        errors += calls.count - answers.count
        return Outcome(results: results, errors: errors, firstError: firstError)
    }

    /// What ``fill(socketPath:total:batchSize:connections:request:)`` did.
    struct FillResult: Sendable {
        var requests: Int
        var errors: Int
        var firstError: String?
        var seconds: Double
        /// The `seq` of each successful request's result, by request index (0 where it failed).
        var seqs: [UInt64]
        var requestsPerSecond: Double { self.seconds > 0 ? Double(self.requests) / self.seconds : 0 }
    }

    /// Sends `total` requests, made by `request(index)`, in batches of `batchSize` over `connections`
    /// threads (one connection each, batches taken in turn from a shared counter).
    ///
    /// - Throws: ``BenchError`` when a connection fails.
    static func fill(
        socketPath: String,
        total: Int,
        batchSize: Int,
        connections: Int,
        progressLabel: String? = nil,
        request: @escaping @Sendable (Int) -> (method: String, params: JSONValue)
    ) throws -> FillResult {
        struct Shared {
            var next = 0
            var errors = 0
            var firstError: String?
            var failure: String?
            var seqs: [UInt64]
            var reported = 0
        }
        let shared = Mutex(Shared(seqs: [UInt64](repeating: 0, count: total)))
        let group = DispatchGroup()
        let started = monotonicNanoseconds()
        for _ in 0..<max(1, connections) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    let client = try RPCClient(socketPath: socketPath)
                    while true {
                        let first = shared.withLock { state -> Int in
                            let first = state.next
                            state.next += batchSize
                            return first
                        }
                        guard first < total else { break }
                        let indices = first..<min(total, first + batchSize)
                        let outcome = try Self.send(indices.map(request), on: client)
                        shared.withLock { state in
                            state.errors += outcome.errors
                            if state.firstError == nil { state.firstError = outcome.firstError }
                            for (offset, result) in outcome.results.enumerated() {
                                if let seq = result?["seq"]?.integerValue { state.seqs[first + offset] = UInt64(seq) }
                            }
                            if let label = progressLabel, indices.upperBound - state.reported >= total / 4 {
                                state.reported = indices.upperBound
                                progress("\(label): \(indices.upperBound)/\(total)")
                            }
                        }
                    }
                } catch {
                    shared.withLock { $0.failure = $0.failure ?? "\(error)" }
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        let seconds = Double(monotonicNanoseconds() - started) / 1_000_000_000
        let state = shared.withLock { $0 }
        if let failure = state.failure { throw BenchError("batched \(progressLabel ?? "fill") failed: \(failure)") }
        return FillResult(requests: total, errors: state.errors, firstError: state.firstError, seconds: seconds, seqs: state.seqs)
    }
}

/// A read-only view of a copy of the daemon's store, for the raw baselines.
///
/// The copy comes from `ledger.backup` (LMDB's compacting hot copy), so the daemon keeps running warm
/// and nothing opens its live environment beside it.
final class StoreCopy {
    /// The copy's directory (removed by ``remove()``).
    let directory: String
    /// The environment opened on the copy.
    let environment: Environment
    /// The event log in the copy.
    let log: EventLog
    /// The log head when the copy was taken.
    let headSeq: UInt64

    /// Asks `daemon` for a hot copy into a fresh directory under `/tmp` and opens it.
    ///
    /// - Throws: RPC errors of `ledger.backup`, LMDB errors.
    init(of daemon: DaemonProcess) throws {
        let directory = daemon.directory + "-copy"
        try? FileManager.default.removeItem(atPath: directory)
        let answer = try daemon.call("ledger.backup", ["path": .string(directory)])
        // The copy holds both parts, as the daemon lays them out (the stream index is with the read models).
        let environment = try Environment(directory: directory, rebuildableSubdirectory: "readmodels")
        self.directory = directory
        self.environment = environment
        self.log = try EventLog.open(in: environment, indexing: .ledgerHeaders)
        self.headSeq = UInt64(answer["head_seq_at_start"]?.integerValue ?? 0)
    }

    /// Deletes the copy's files.
    func remove() {
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// What a raw scan of the whole log measured.
    struct Scan: Codable, Sendable {
        var events: Int
        var bytes: Int
        var seconds: Double
        var eventsPerSecond: Double

        /// `events` read in `seconds`; the rate follows from them.
        init(events: Int, bytes: Int, seconds: Double) {
            self.events = events
            self.bytes = bytes
            self.seconds = seconds
            self.eventsPerSecond = Double(events) / max(seconds, 1e-9)
        }

        /// The scan's time per event: its CPU per event too, as a scan runs on one thread that never waits.
        var microsecondsPerEvent: Double { self.seconds * 1_000_000 / Double(max(self.events, 1)) }
    }

    /// Reads every record of the log with ``EventLog/forEachView(after:in:_:)`` (a cursor step and the
    /// record's parts found in its bytes, nothing copied or decoded), `runs` times; reports the fastest
    /// run. `inspect` sees each record (a filter to time beside the bare scan).
    func scanLog(runs: Int = 3, inspect: ((StoredEvent.View) throws -> Void)? = nil) throws -> Scan {
        var best: Scan?
        for _ in 0..<max(1, runs) {
            var events = 0
            var bytes = 0
            let started = monotonicNanoseconds()
            try self.environment.read { txn in
                try self.log.forEachView(after: 0, in: txn) { record in
                    events += 1
                    bytes += record.header.count + (record.payload?.count ?? 0)
                    try inspect?(record)
                    return true
                }
            }
            let seconds = Double(monotonicNanoseconds() - started) / 1_000_000_000
            let scan = Scan(events: events, bytes: bytes, seconds: seconds)
            if best.map({ scan.seconds < $0.seconds }) ?? true { best = scan }
        }
        guard let best else { throw BenchError("no scan ran") }
        return best
    }
}

/// A client thread that calls `contacts.create` in a loop until told to stop, timing each call; the
/// write load beside which a background job (a rebuild) is measured.
final class BackgroundWriter: Sendable {
    /// What the writer measured.
    struct Result: Codable, Sendable {
        var writes: Int
        var errors: Int
        var firstError: String?
        var seconds: Double
        var writesPerSecond: Double
        var latencyMs: LatencySummary
        /// Writes slower than ``slowWriteNanoseconds``, by when they started (seconds after the writer
        /// did), to set beside the daemon's log lines of the same moments.
        var slowWrites: [SlowWrite]
    }

    /// A write slower than ``slowWriteNanoseconds``.
    struct SlowWrite: Codable, Sendable {
        var startedAfterSeconds: Double
        var milliseconds: Double
    }

    /// The latency from which a write is listed in ``Result/slowWrites``.
    static let slowWriteNanoseconds: UInt64 = 100_000_000

    private struct State {
        var latencies: [UInt64] = []
        var slowWrites: [SlowWrite] = []
        var errors = 0
        var firstError: String?
        var started: UInt64 = 0
        var finished: UInt64 = 0
    }

    private let stopFlag = Atomic<Bool>(false)
    private let state = Mutex(State())
    private let done = DispatchSemaphore(value: 0)

    /// Starts the thread, which opens its own connection to `socketPath` (a failure to connect is
    /// counted as an error); `label` keeps its URNs unique.
    init(socketPath: String, label: String) {
        let thread = Thread { [self] in
            var latencies: [UInt64] = []
            latencies.reserveCapacity(1 << 14)
            var errors = 0
            var firstError: String?
            var slowWrites: [SlowWrite] = []
            var iteration = 0
            let started = monotonicNanoseconds()
            var connection: RPCClient?
            do {
                connection = try RPCClient(socketPath: socketPath)
            } catch {
                errors += 1
                firstError = "connect: \(error)"
            }
            while let client = connection, !self.stopFlag.load(ordering: .relaxed) {
                let callStarted = monotonicNanoseconds()
                do {
                    try client.call(
                        "contacts.create",
                        ["name": .string("Writer \(label) \(iteration)"), "urns": [.string("ext:writer-\(label)-\(iteration)")]]
                    )
                    let latency = monotonicNanoseconds() - callStarted
                    latencies.append(latency)
                    if latency >= Self.slowWriteNanoseconds {
                        slowWrites.append(
                            SlowWrite(startedAfterSeconds: Double(callStarted - started) / 1e9, milliseconds: Double(latency) / 1e6)
                        )
                    }
                } catch {
                    errors += 1
                    if firstError == nil { firstError = "\(error)" }
                    if error is RPCClient.TransportError { break }
                }
                iteration += 1
            }
            let finished = monotonicNanoseconds()
            let result = State(
                latencies: latencies, slowWrites: slowWrites, errors: errors, firstError: firstError, started: started, finished: finished
            )
            self.state.withLock { $0 = result }
            self.done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Stops the thread and returns what it measured.
    func stop() -> Result {
        self.stopFlag.store(true, ordering: .relaxed)
        self.done.wait()
        let state = self.state.withLock { $0 }
        let seconds = Double(state.finished - state.started) / 1_000_000_000
        return Result(
            writes: state.latencies.count,
            errors: state.errors,
            firstError: state.firstError,
            seconds: seconds,
            writesPerSecond: Double(state.latencies.count) / max(seconds, 1e-9),
            latencyMs: LatencySummary(nanoseconds: state.latencies),
            slowWrites: state.slowWrites
        )
    }
}

/// Memory figures of a process from `/proc/<pid>/status`, in MiB.
enum ProcessMemory {
    /// The peak resident set size (`VmHWM`), or nil off Linux.
    static func peakRSSMiB(pid: Int32) -> Double? {
        Self.statusValue("VmHWM", pid: pid)
    }

    /// The current resident set size (`VmRSS`), or nil off Linux.
    static func rssMiB(pid: Int32) -> Double? {
        Self.statusValue("VmRSS", pid: pid)
    }

    /// The anonymous (heap) part of the current RSS (`RssAnon`), without mapped file pages.
    static func anonymousRSSMiB(pid: Int32) -> Double? {
        Self.statusValue("RssAnon", pid: pid)
    }

    /// The file-backed part of the current RSS (`RssFile`: mapped files, LMDB's map among them).
    static func fileRSSMiB(pid: Int32) -> Double? {
        Self.statusValue("RssFile", pid: pid)
    }

    /// Resets the process's peak RSS to its current RSS (`echo 5 > /proc/<pid>/clear_refs`), so a
    /// later ``peakRSSMiB(pid:)`` covers one phase only. Returns false where the kernel refuses.
    @discardableResult
    static func resetPeak(pid: Int32) -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/\(pid)/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }

    private static func statusValue(_ key: String, pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            // `VmRSS:\t  123456 kB`: the number is padded to eight characters after a tab, so a large one
            // follows the tab directly.
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kilobytes = Double(parts[1]) else { return nil }
            return kilobytes / 1024
        }
        return nil
    }
}

/// Polls `body` every `interval` seconds until it returns a value or `timeout` seconds pass.
///
/// - Throws: ``BenchError`` on timeout; whatever `body` throws.
func poll<T>(every interval: Double, timeout: Double, what: String, _ body: () throws -> T?) throws -> T {
    let deadline = monotonicNanoseconds() + UInt64(timeout * 1_000_000_000)
    while true {
        if let value = try body() { return value }
        guard monotonicNanoseconds() < deadline else { throw BenchError("timed out after \(formatted(timeout)) s waiting for \(what)") }
        usleep(UInt32(interval * 1_000_000))
    }
}

/// Seconds since `start` (a ``monotonicNanoseconds()`` reading).
func secondsSince(_ start: UInt64) -> Double {
    Double(monotonicNanoseconds() - start) / 1_000_000_000
}

/// Runs `python3` on `script` with `arguments` and returns its standard output.
///
/// - Throws: ``BenchError`` when python3 is missing or the script fails (its stderr in the message).
func runPython(_ script: String, arguments: [String] = []) throws -> String {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let finished = try process.runToEnd()
    guard finished.status == 0 else { throw BenchError("python3 failed (\(finished.status)): \(finished.error)") }
    return finished.output
}

/// A ratio `a / b` as text (`12.3x`, or `-` when `b` is zero).
func ratioText(_ a: Double, _ b: Double, _ digits: Int = 2) -> String {
    b > 0 ? formatted(a / b, digits) + "x" : "-"
}

/// Contacts with four custom fields, to fill a log quickly with a realistic mix of events: each
/// `contacts.create` appends `contact_created` and one `contact_field_changed` per field.
enum FieldRichContacts {
    /// Events one ``createParams(_:prefix:actor:)`` call appends.
    static let eventsPerCreate = 5

    /// Defines the fields the contacts carry (age and score numbers, joined a datetime, city text).
    static func defineFields(daemon: DaemonProcess) throws {
        try daemon.call("fields.create", ["key": "age", "name": "Age", "type": "number"])
        try daemon.call("fields.create", ["key": "joined", "name": "Joined", "type": "datetime"])
        try daemon.call("fields.create", ["key": "city", "name": "City", "type": "text"])
        try daemon.call("fields.create", ["key": "score", "name": "Score", "type": "number"])
    }

    /// The `contacts.create` call for contact `index`: a name, one `ext:` URN and the four fields.
    static func create(_ index: Int, prefix: String, actor: String? = nil) -> (method: String, params: JSONValue) {
        let cities = ["Kigali", "Nairobi", "Lagos", "Accra", "Kampala", "Dakar"]
        var params: [String: JSONValue] = [
            "name": .string("\(prefix) \(index)"),
            "urns": [.string("ext:\(prefix.lowercased())-\(index)")],
            "fields": [
                "age": .string(String(18 + index % 60)),
                "joined": .string(String(format: "2025-%02d-%02d", 1 + index % 12, 1 + index % 28)),
                "city": .string(cities[index % cities.count]),
                "score": .string(String(index % 1000)),
            ],
        ]
        if let actor { params["actor"] = .string(actor) }
        return ("contacts.create", .object(params))
    }
}
