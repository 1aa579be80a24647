// ContactLedger — benchmarks.
import ArgumentParser
import Foundation
import RPC
import Synchronization

/// `ledger-bench soak`: a long mixed load on one release daemon, watching its memory and latency for
/// drift (issue 8). Not for CI: it runs for minutes.
struct SoakBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "A long mixed load (writes, messages, reads, queries) sampling the daemon's RSS and per-minute latency.",
        discussion: """
            Seeds contacts with four fields and a smart group, then runs --clients threads for --minutes, each
            with its own connection and its own contacts, paced to --rate calls per second in all (0: as fast
            as they can). Each call is one of: contacts.create (a client keeps at most --pool contacts: past
            that the oldest is archived and deleted), contacts.modify (name, a field, a URN swap), a status
            change, messages.receive, messages.send, contacts.get, contacts.history, contacts.search,
            contacts.count, groups.members of the smart group. The daemon's VmRSS, RssAnon and RssFile
            (/proc/PID/status) are sampled every --sample-seconds. Prints a per-minute table and a verdict:
            VmRSS is steady when every minute after the first steady one (the one after --warmup-minutes) ends
            within --rss-band percent (or --rss-slack-mib, the larger) of it. LMDB maps its file, so VmRSS also
            counts the pages of a growing database the daemon has read: memory is steady when the heap (RssAnon)
            is, and VmRSS is too or its file-backed growth is no more than data.mdb's. Latency is steady when
            each class's p99 in the last three minutes is at most --latency-factor times its p99 in the first
            steady minute. Exits 1 when memory or latency is not steady.
            """
    )

    @Option(name: .long, help: "The contactledgerd binary to start (a release build).")
    var daemon: String

    @Option(name: .long, help: "Minutes of load.")
    var minutes: Int = 10

    @Option(name: .long, help: "Client threads, one connection each.")
    var clients: Int = 8

    @Option(name: .long, help: "Calls per second, all clients together (0: unpaced).")
    var rate: Int = 400

    @Option(name: .long, help: "Contacts created before the load starts.")
    var seed: Int = 5_000

    @Option(name: .long, help: "Contacts each client keeps; past that, each create retires the oldest.")
    var pool: Int = 250

    @Option(name: .long, help: "Seconds between RSS samples.")
    var sampleSeconds: Double = 5

    @Option(name: .long, help: "Minutes of warm-up before the first steady minute.")
    var warmupMinutes: Int = 1

    @Option(name: .long, help: "RSS band around the first steady minute, in percent.")
    var rssBand: Double = 10

    @Option(name: .long, help: "RSS band in MiB, when larger than the percentage.")
    var rssSlackMib: Double = 16

    @Option(name: .long, help: "Largest ratio of a late minute's p99 to the first steady minute's.")
    var latencyFactor: Double = 2

    @Flag(name: .long, help: "Keep the daemon's data directory and log under /tmp after the run.")
    var keepData = false

    @Flag(name: .long, help: "Print the results as JSON instead of tables.")
    var json = false

    func validate() throws {
        guard (1...240).contains(self.minutes) else { throw ValidationError("--minutes must be in 1...240, got \(self.minutes).") }
        guard self.warmupMinutes >= 0, self.warmupMinutes < self.minutes else {
            throw ValidationError("--warmup-minutes must be in 0..<--minutes, got \(self.warmupMinutes).")
        }
        guard (1...256).contains(self.clients) else { throw ValidationError("--clients must be in 1...256, got \(self.clients).") }
        guard self.rate >= 0, self.seed >= 0, self.pool >= 4, self.sampleSeconds > 0 else {
            throw ValidationError("--rate and --seed must be at least 0, --pool at least 4, --sample-seconds positive.")
        }
    }

    /// The classes latencies are reported by.
    enum MethodClass: String, CaseIterable, Codable, Sendable {
        /// contacts.create, contacts.modify (incl. status changes), contacts.delete.
        case write
        /// messages.receive, messages.send.
        case message
        /// contacts.get, contacts.history.
        case lookup
        /// contacts.search, contacts.count, groups.members of a smart group.
        case query
    }

    /// One minute of the run.
    struct Minute: Codable, Sendable {
        var minute: Int
        var calls: Int
        var errors: Int
        var vmRSSMiB: Double
        var vmRSSMaxMiB: Double
        var rssAnonMiB: Double
        var rssFileMiB: Double
        /// The size of the daemon's `data.mdb` at the minute's end: what its memory map can cover.
        var dataFileMiB: Double
        var headSeq: Int
        /// The machine's 1-minute load average at the minute's end (other work on the machine shows here).
        var loadAverage: Double
        var latencyMs: [String: LatencySummary]
    }

    /// The whole run.
    struct Report: Codable, Sendable {
        var benchmark = "soak"
        var clients: Int
        var rate: Int
        var seedContacts: Int
        var minutes: [Minute]
        var firstError: String?
        var peakRSSMiB: Double?
        /// VmRSS stayed in the band.
        var rssSteady: Bool
        var rssVerdict: String
        /// The heap (RssAnon) stayed in the band: no leak.
        var heapSteady: Bool
        /// Whatever VmRSS grew by beyond the band is file-backed and no more than data.mdb grew by:
        /// LMDB's map of a growing database, pages the kernel can drop, not memory the daemon holds.
        var growthIsMap: Bool
        var memoryVerdict: String
        var latencySteady: Bool
        var latencyVerdict: String
    }

    /// What the clients and the sampler share.
    final class Shared: Sendable {
        struct Tally {
            /// [minute][class] → latencies in ns.
            var latencies: [[[UInt64]]] = []
            var calls: [Int] = []
            var errors: [Int] = []
            var firstError: String?
            /// [minute] → (VmRSS, RssAnon, RssFile) samples.
            var memory: [[(Double, Double, Double)]] = []
            var headSeq: [Int] = []
            var loadAverage: [Double] = []
            var dataFile: [Double] = []
        }

        let tally: Mutex<Tally>
        let start: UInt64
        let deadline: UInt64

        init(minutes: Int, start: UInt64) {
            var tally = Tally()
            tally.latencies = Array(repeating: Array(repeating: [], count: MethodClass.allCases.count), count: minutes)
            tally.calls = Array(repeating: 0, count: minutes)
            tally.errors = Array(repeating: 0, count: minutes)
            tally.memory = Array(repeating: [], count: minutes)
            tally.headSeq = Array(repeating: 0, count: minutes)
            tally.loadAverage = Array(repeating: 0, count: minutes)
            tally.dataFile = Array(repeating: 0, count: minutes)
            self.tally = Mutex(tally)
            self.start = start
            self.deadline = start + UInt64(minutes) * 60_000_000_000
        }

        /// The minute `time` falls in, or nil past the end.
        func minute(at time: UInt64) -> Int? {
            guard time >= self.start, time < self.deadline else { return nil }
            return Int((time - self.start) / 60_000_000_000)
        }

        func record(_ methodClass: MethodClass, started: UInt64, error: (any Error)?) {
            let finished = monotonicNanoseconds()
            guard let minute = self.minute(at: started) else { return }
            let classIndex = MethodClass.allCases.firstIndex(of: methodClass) ?? 0
            self.tally.withLock { tally in
                tally.calls[minute] += 1
                if let error {
                    tally.errors[minute] += 1
                    if tally.firstError == nil { tally.firstError = "\(methodClass.rawValue): \(error)" }
                } else {
                    tally.latencies[minute][classIndex].append(finished - started)
                }
            }
        }
    }

    func run() throws {
        let daemon = try DaemonProcess(executable: self.daemon, keep: self.keepData)
        defer { daemon.stop() }
        guard let pid = daemon.processIdentifier else { throw BenchError("the daemon is not running") }
        try FieldRichContacts.defineFields(daemon: daemon)
        let group = try daemon.call("groups.create", ["name": "Seniors", "query": "age >= 60"])
        guard let groupUUID = group["uuid"]?.stringValue else { throw BenchError("groups.create answered without a uuid") }
        if self.seed > 0 {
            progress("soak: seeding \(self.seed) contacts")
            let fill = try BatchRPC.fill(socketPath: daemon.socketPath, total: self.seed, batchSize: 100, connections: 2) { index in
                FieldRichContacts.create(index, prefix: "Seed")
            }
            guard fill.errors == 0 else { throw BenchError("seeding failed: \(fill.firstError ?? "?")") }
        }
        // Each client's first contacts, made before the clock starts.
        let clients = try (0..<self.clients).map { index in
            try SoakClient(socketPath: daemon.socketPath, index: index, pool: self.pool, groupUUID: groupUUID)
        }
        progress("soak: \(self.clients) clients, \(self.rate == 0 ? "unpaced" : "\(self.rate) calls/s"), \(self.minutes) min")
        let shared = Shared(minutes: self.minutes, start: monotonicNanoseconds())
        let done = DispatchSemaphore(value: 0)
        let interval = self.rate > 0 ? UInt64(1_000_000_000 * Double(self.clients) / Double(self.rate)) : 0
        for client in clients {
            let thread = Thread {
                client.run(shared: shared, interval: interval, clients: self.clients)
                done.signal()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        self.sample(pid: pid, daemon: daemon, shared: shared)
        for _ in clients { done.wait() }
        let report = self.report(shared: shared, peak: ProcessMemory.peakRSSMiB(pid: pid))
        if self.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
        let memorySteady = report.heapSteady && (report.rssSteady || report.growthIsMap)
        if !memorySteady || !report.latencySteady { throw ExitCode(1) }
    }

    /// Samples the daemon's memory every --sample-seconds, and its head at each minute's end, until the
    /// run's deadline; prints one progress line a minute.
    func sample(pid: Int32, daemon: DaemonProcess, shared: Shared) {
        var reported = -1
        while true {
            let now = monotonicNanoseconds()
            guard let minute = shared.minute(at: now) else { break }
            if let rss = ProcessMemory.rssMiB(pid: pid) {
                let anonymous = ProcessMemory.anonymousRSSMiB(pid: pid) ?? 0
                let file = ProcessMemory.fileRSSMiB(pid: pid) ?? 0
                shared.tally.withLock { $0.memory[minute].append((rss, anonymous, file)) }
            }
            let head = (try? daemon.call("system.health"))?["head_seq"]?.integerValue
            if let head { shared.tally.withLock { $0.headSeq[minute] = Int(head) } }
            if let load = Self.loadAverage() { shared.tally.withLock { $0.loadAverage[minute] = load } }
            let attributes = try? FileManager.default.attributesOfItem(atPath: daemon.directory + "/data.mdb")
            if let size = (attributes?[.size] as? NSNumber)?.doubleValue {
                shared.tally.withLock { $0.dataFile[minute] = size / 1_048_576 }
            }
            if minute > reported {
                if minute > 0 {
                    let (calls, errors, rss) = shared.tally.withLock { ($0.calls[minute - 1], $0.errors[minute - 1], $0.memory[minute - 1].last?.0 ?? 0) }
                    progress("soak: minute \(minute): \(calls) calls, \(errors) errors, VmRSS \(formatted(rss, 1)) MiB")
                }
                reported = minute
            }
            let next = min(shared.deadline, now + UInt64(self.sampleSeconds * 1_000_000_000))
            if next > now { Thread.sleep(forTimeInterval: Double(next - now) / 1_000_000_000) }
        }
        if let rss = ProcessMemory.rssMiB(pid: pid) {
            let last = shared.tally.withLock { $0.memory.count - 1 }
            let anonymous = ProcessMemory.anonymousRSSMiB(pid: pid) ?? 0
            let file = ProcessMemory.fileRSSMiB(pid: pid) ?? 0
            shared.tally.withLock { $0.memory[last].append((rss, anonymous, file)) }
        }
    }

    /// The minutes and the verdicts.
    func report(shared: Shared, peak: Double?) -> Report {
        let tally = shared.tally.withLock { $0 }
        var minutes: [Minute] = []
        for minute in 0..<self.minutes {
            let memory = tally.memory[minute]
            var latency: [String: LatencySummary] = [:]
            for (index, methodClass) in MethodClass.allCases.enumerated() {
                latency[methodClass.rawValue] = LatencySummary(nanoseconds: tally.latencies[minute][index])
            }
            minutes.append(Minute(
                minute: minute + 1, calls: tally.calls[minute], errors: tally.errors[minute],
                vmRSSMiB: memory.last?.0 ?? 0, vmRSSMaxMiB: memory.map(\.0).max() ?? 0, rssAnonMiB: memory.last?.1 ?? 0,
                rssFileMiB: memory.last?.2 ?? 0, dataFileMiB: tally.dataFile[minute], headSeq: tally.headSeq[minute], loadAverage: tally.loadAverage[minute], latencyMs: latency
            ))
        }
        // RSS: every minute after the first steady one ends within the band of it.
        let first = minutes[self.warmupMinutes]
        let band = max(first.vmRSSMiB * self.rssBand / 100, self.rssSlackMib)
        let later = minutes[(self.warmupMinutes + 1)...]
        let highest = later.map(\.vmRSSMiB).max() ?? first.vmRSSMiB
        let rssSteady = later.allSatisfy { abs($0.vmRSSMiB - first.vmRSSMiB) <= band }
        let growth = Self.slope(minutes[self.warmupMinutes...].map(\.vmRSSMiB))
        let rssVerdict = """
            RSS \(rssSteady ? "steady" : "NOT steady"): minute \(first.minute) ended at \(formatted(first.vmRSSMiB, 1)) MiB; \
            later minutes ended within \(formatted(later.map { abs($0.vmRSSMiB - first.vmRSSMiB) }.max() ?? 0, 1)) MiB of it \
            (band ±\(formatted(band, 1)) MiB), highest \(formatted(highest, 1)) MiB; trend \(formatted(growth, 2)) MiB/min
            """
        // The heap alone, and what the rest of the growth is.
        let heapBand = max(first.rssAnonMiB * self.rssBand / 100, self.rssSlackMib)
        let heapSteady = later.allSatisfy { abs($0.rssAnonMiB - first.rssAnonMiB) <= heapBand }
        let end = minutes[minutes.count - 1]
        let fileGrowth = end.rssFileMiB - first.rssFileMiB
        let dataGrowth = end.dataFileMiB - first.dataFileMiB
        let growthIsMap = fileGrowth <= dataGrowth + band
        let memorySteady = heapSteady && (rssSteady || growthIsMap)
        let memoryVerdict = """
            memory \(memorySteady ? "steady" : "NOT steady"): heap (RssAnon) \(heapSteady ? "steady" : "NOT steady"), \
            \(formatted(first.rssAnonMiB, 1)) → \(formatted(end.rssAnonMiB, 1)) MiB (band ±\(formatted(heapBand, 1)) MiB); \
            file-backed RSS grew \(formatted(fileGrowth, 1)) MiB while data.mdb grew \(formatted(dataGrowth, 1)) MiB \
            (\(growthIsMap ? "the growth is LMDB's map of the growing database" : "MORE than the database grew"))
            """
        // Latency: each class's p99 over the last three minutes against the first steady minute's.
        let last = minutes.suffix(min(3, self.minutes - self.warmupMinutes))
        var ratios: [String] = []
        var latencySteady = true
        for methodClass in MethodClass.allCases {
            let base = first.latencyMs[methodClass.rawValue]?.p99 ?? 0
            let worst = last.compactMap { $0.latencyMs[methodClass.rawValue]?.p99 }.max() ?? 0
            guard base > 0 else { continue }
            let ratio = worst / base
            if ratio > self.latencyFactor { latencySteady = false }
            ratios.append("\(methodClass.rawValue) \(formatted(base, 2))→\(formatted(worst, 2)) ms (\(formatted(ratio, 2))x)")
        }
        let latencyVerdict = "latency \(latencySteady ? "steady" : "NOT steady") (p99, minute \(first.minute) → worst of the last "
            + "\(last.count), limit \(formatted(self.latencyFactor, 1))x): " + ratios.joined(separator: ", ")
        return Report(
            clients: self.clients, rate: self.rate, seedContacts: self.seed, minutes: minutes, firstError: tally.firstError,
            peakRSSMiB: peak, rssSteady: rssSteady, rssVerdict: rssVerdict, heapSteady: heapSteady, growthIsMap: growthIsMap,
            memoryVerdict: memoryVerdict, latencySteady: latencySteady, latencyVerdict: latencyVerdict
        )
    }

    /// The 1-minute load average (`/proc/loadavg`), or nil off Linux.
    static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }

    /// The least-squares slope of `values` per step.
    static func slope(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let count = Double(values.count)
        let meanX = (count - 1) / 2
        let meanY = values.reduce(0, +) / count
        var numerator = 0.0
        var denominator = 0.0
        for (index, value) in values.enumerated() {
            numerator += (Double(index) - meanX) * (value - meanY)
            denominator += (Double(index) - meanX) * (Double(index) - meanX)
        }
        return numerator / denominator
    }

    static func printTable(_ report: Report) {
        print("soak: \(report.clients) clients, \(report.rate == 0 ? "unpaced" : "\(report.rate) calls/s"), \(report.seedContacts) seeded contacts")
        var headers = ["min", "calls", "err", "head_seq", "load", "VmRSS", "max", "anon", "file", "mdb"]
        for methodClass in MethodClass.allCases { headers += ["\(methodClass.rawValue) p50", "p99"] }
        var table = TextTable(headers: headers)
        for minute in report.minutes {
            var row = [
                "\(minute.minute)", "\(minute.calls)", "\(minute.errors)", "\(minute.headSeq)", formatted(minute.loadAverage, 2),
                formatted(minute.vmRSSMiB, 1),
                formatted(minute.vmRSSMaxMiB, 1), formatted(minute.rssAnonMiB, 1), formatted(minute.rssFileMiB, 1),
                formatted(minute.dataFileMiB, 1),
            ]
            for methodClass in MethodClass.allCases {
                let latency = minute.latencyMs[methodClass.rawValue]
                row += [formatted(latency?.p50 ?? 0, 2), formatted(latency?.p99 ?? 0, 2)]
            }
            table.rows.append(row)
        }
        print(table.rendered())
        print(
            "(load: 1-minute load average; RSS columns and mdb (data.mdb size) in MiB at each minute's end, "
                + "max = highest sample in the minute; latencies in ms)"
        )
        print(report.rssVerdict)
        print(report.memoryVerdict)
        print(report.latencyVerdict)
        if let peak = report.peakRSSMiB { print("peak RSS (VmHWM) \(formatted(peak, 1)) MiB") }
        if let error = report.firstError { print("first error: \(error)") }
    }
}

/// One soak client: a connection, its own contacts, and the mix of calls.
final class SoakClient: @unchecked Sendable {
    // @unchecked: made on the main thread, then used by its one client thread only.

    /// A contact this client made, as it last saw it.
    struct Contact {
        var uuid: String
        var urn: String
        var status: String
    }

    private let connection: RPCClient
    private let index: Int
    private let pool: Int
    private let groupUUID: String
    private var contacts: [Contact] = []
    private var created = 0
    private var random = SystemRandomNumberGenerator()

    /// The weighted mix: (weight, call).
    private static let mix: [(Int, Call)] = [
        (10, .create), (18, .modify), (6, .status), (10, .receive), (6, .send), (15, .get), (8, .history), (12, .search), (8, .count),
        (7, .groupMembers),
    ]
    private static let totalWeight = mix.reduce(0) { $0 + $1.0 }

    enum Call {
        case create, modify, status, receive, send, get, history, search, count, groupMembers
    }

    private static let queries = [
        "age > 40", "city = \"Kigali\"", "score >= 900", "age < 30 AND city = \"Lagos\"", "joined > 2025-06-01", "city = \"Accra\" OR age = 33",
    ]

    init(socketPath: String, index: Int, pool: Int, groupUUID: String) throws {
        self.connection = try RPCClient(socketPath: socketPath)
        self.index = index
        self.pool = pool
        self.groupUUID = groupUUID
        for _ in 0..<min(20, pool) { _ = try self.create() }
    }

    /// Calls until the run's deadline, one every `interval` ns (0: back to back); the `clients`
    /// clients' first calls are spread over one interval.
    func run(shared: SoakBenchmark.Shared, interval: UInt64, clients: Int) {
        var next = shared.start + UInt64(self.index) * (interval / UInt64(max(1, clients)))
        while true {
            let now = monotonicNanoseconds()
            guard now < shared.deadline else { return }
            if interval > 0 {
                if next > now { usleep(UInt32(min((next - now) / 1000, 500_000))) }
                // Behind by more than a second: drop the backlog rather than burst.
                let floor = monotonicNanoseconds()
                next = max(next + interval, floor > 1_000_000_000 ? floor - 1_000_000_000 : 0)
            }
            var pick = Int.random(in: 0..<Self.totalWeight, using: &self.random)
            var call = Call.get
            for (weight, candidate) in Self.mix {
                if pick < weight {
                    call = candidate
                    break
                }
                pick -= weight
            }
            self.perform(call, shared: shared)
        }
    }

    private func perform(_ call: Call, shared: SoakBenchmark.Shared) {
        let slot = Int.random(in: 0..<max(1, self.contacts.count), using: &self.random)
        let methodClass: SoakBenchmark.MethodClass
        switch call {
        case .create, .modify, .status: methodClass = .write
        case .receive, .send: methodClass = .message
        case .get, .history: methodClass = .lookup
        case .search, .count, .groupMembers: methodClass = .query
        }
        if call == .create, self.contacts.count >= self.pool {
            // Retire the oldest: archive, then delete (two timed writes).
            let oldest = self.contacts.removeFirst()
            if oldest.status != "archived" {
                self.timed(.write, shared) {
                    try self.connection.call("contacts.modify", ["uuid": .string(oldest.uuid), "modifiers": [["type": "status", "status": "archived"]]])
                }
            }
            self.timed(.write, shared) { try self.connection.call("contacts.delete", ["uuid": .string(oldest.uuid)]) }
        }
        guard call == .create || slot < self.contacts.count else { return }
        // Only active contacts can be sent to: pick one, or send nothing (and time nothing).
        let active = self.contacts.firstIndex { $0.status == "active" }
        if call == .send, active == nil { return }
        self.timed(methodClass, shared) {
            switch call {
            case .create:
                _ = try self.create()
            case .modify:
                let contact = self.contacts[slot]
                let age = Int.random(in: 18...90, using: &self.random)
                let swap = "ext:soak-\(self.index)-\(self.created)-m\(Int.random(in: 0..<1_000_000, using: &self.random))"
                let answer = try self.connection.call(
                    "contacts.modify",
                    [
                        "uuid": .string(contact.uuid),
                        "modifiers": [
                            ["type": "name", "name": .string("Soak \(self.index) \(age)")],
                            ["type": "field", "field": "age", "value": .string(String(age))],
                            ["type": "urns", "action": "set", "urns": [.string(contact.urn), .string(swap)]],
                        ],
                    ]
                )
                self.note(answer, slot)
            case .status:
                let contact = self.contacts[slot]
                let next = contact.status == "active" ? ["blocked", "stopped", "archived"][Int.random(in: 0..<3, using: &self.random)] : "active"
                let answer = try self.connection.call(
                    "contacts.modify", ["uuid": .string(contact.uuid), "modifiers": [["type": "status", "status": .string(next)]]]
                )
                self.note(answer, slot)
            case .receive:
                let answer = try self.connection.call(
                    "messages.receive", ["urn": .string(self.contacts[slot].urn), "text": "hello from soak", "channel": "soak"]
                )
                if let contact = answer["contact"] { self.note(contact, slot) }
            case .send:
                guard let active else { return }
                try self.connection.call("messages.send", ["uuid": .string(self.contacts[active].uuid), "text": "reply from soak"])
            case .get:
                if Bool.random(using: &self.random) {
                    try self.connection.call("contacts.get", ["uuid": .string(self.contacts[slot].uuid)])
                } else {
                    try self.connection.call("contacts.get", ["urn": .string(self.contacts[slot].urn)])
                }
            case .history:
                try self.connection.call("contacts.history", ["uuid": .string(self.contacts[slot].uuid), "limit": 20])
            case .search:
                let query = Self.queries[Int.random(in: 0..<Self.queries.count, using: &self.random)]
                try self.connection.call("contacts.search", ["query": .string(query), "limit": 50])
            case .count:
                let query = Self.queries[Int.random(in: 0..<Self.queries.count, using: &self.random)]
                try self.connection.call("contacts.count", ["query": .string(query)])
            case .groupMembers:
                try self.connection.call("groups.members", ["uuid": .string(self.groupUUID), "limit": 50])
            }
        }
    }

    /// Runs `body`, recording its latency (or its error) under `methodClass`.
    private func timed(_ methodClass: SoakBenchmark.MethodClass, _ shared: SoakBenchmark.Shared, _ body: () throws -> Void) {
        let started = monotonicNanoseconds()
        do {
            try body()
            shared.record(methodClass, started: started, error: nil)
        } catch {
            shared.record(methodClass, started: started, error: error)
        }
    }

    /// Creates one contact with the four fields and keeps it.
    private func create() throws -> Contact {
        self.created += 1
        let (method, params) = FieldRichContacts.create(self.created, prefix: "Soak\(self.index)x")
        let answer = try self.connection.call(method, params)
        guard let uuid = answer["uuid"]?.stringValue, let urn = answer["urns"]?.arrayValue?.first?.stringValue else {
            throw BenchError("contacts.create answered without a uuid or URN")
        }
        let contact = Contact(uuid: uuid, urn: urn, status: "active")
        self.contacts.append(contact)
        return contact
    }

    /// Takes the status and first URN a contact answer shows.
    private func note(_ answer: JSONValue, _ slot: Int) {
        guard slot < self.contacts.count else { return }
        if let status = answer["status"]?.stringValue { self.contacts[slot].status = status }
        if let urn = answer["urns"]?.arrayValue?.first?.stringValue { self.contacts[slot].urn = urn }
    }
}
