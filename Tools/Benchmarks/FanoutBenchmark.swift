// ContactLedger — benchmarks.
import ArgumentParser
import Dispatch
import Foundation
import RPC
import Synchronization

/// `ledger-bench fanout`: events delivered per second by `events.subscribe` to 1 and 10 subscribers,
/// catching up on a filled log and following live writes (issue 6).
struct FanoutBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "events.subscribe delivery: events/s to 1 and 10 subscribers, catch-up and live.",
        discussion: """
            Fills the log with --events events (contacts.create with four fields, five events each, in JSON-RPC
            batches). For each subscriber count: that many connections subscribe from seq 0 at once and read
            until each has every event (catch-up: events delivered per second, all subscribers together and
            the slowest one); then they subscribe at the head while one client writes --live-events more in
            batches, and read until each has them (live: delivered per second beside the write rate). Each
            notification is one line; subscribers count lines and check the last one's seq, so the client's
            JSON parsing does not bound the figure.
            """
    )

    @OptionGroup var options: JobDaemonOptions

    @Option(name: .long, help: "Events in the log before the catch-up phase.")
    var events: Int = 100_000

    @Option(name: .long, help: "Events written during the live phase.")
    var liveEvents: Int = 20_000

    @Option(name: .long, parsing: .upToNextOption, help: "Subscriber counts to measure (e.g. --subscribers 1 10).")
    var subscribers: [Int] = [1, 10]

    @Option(name: .long, help: "Seconds to wait for a phase before giving up.")
    var timeout: Double = 300

    /// One phase with one subscriber count.
    struct Phase: Codable, Sendable {
        var subscribers: Int
        var eventsEach: Int
        var seconds: Double
        /// Events delivered to all subscribers together, per second.
        var deliveredPerSecond: Double
        /// The slowest subscriber's own rate.
        var slowestSubscriberPerSecond: Double
        /// The write rate of the live phase (nil for catch-up).
        var writtenPerSecond: Double?
    }

    struct Report: Codable, Sendable {
        var benchmark = "fanout"
        var logEvents: Int
        var catchUp: [Phase]
        var live: [Phase]
    }

    func validate() throws {
        guard self.events >= 100, self.liveEvents >= 100 else { throw ValidationError("--events and --live-events must be at least 100.") }
        guard !self.subscribers.isEmpty, self.subscribers.allSatisfy({ (1...64).contains($0) }) else {
            throw ValidationError("--subscribers takes counts in 1...64.")
        }
    }

    func run() throws {
        let daemon = try DaemonProcess(executable: self.options.daemon, keep: self.options.keepData)
        defer { daemon.stop() }
        try FieldRichContacts.defineFields(daemon: daemon)
        let creates = (self.events + FieldRichContacts.eventsPerCreate - 1) / FieldRichContacts.eventsPerCreate
        progress("fanout: \(creates) contacts.create with 4 fields, batches of \(self.options.batch)")
        _ = try BatchRPC.fill(
            socketPath: daemon.socketPath, total: creates, batchSize: self.options.batch, connections: self.options.connections,
            progressLabel: "creates"
        ) { FieldRichContacts.create($0, prefix: "Fanout") }
        var written = 0
        var catchUp: [Phase] = []
        var live: [Phase] = []
        for count in self.subscribers {
            let head = Self.head(daemon)
            progress("fanout: \(count) subscriber(s) catching up on \(head) events")
            let group = SubscriberGroup(socketPath: daemon.socketPath, count: count, afterSeq: 0, until: head)
            catchUp.append(try group.wait(timeout: self.timeout, writtenPerSecond: nil))

            let start = Self.head(daemon)
            let liveCreates = (self.liveEvents + FieldRichContacts.eventsPerCreate - 1) / FieldRichContacts.eventsPerCreate
            let target = start + UInt64(liveCreates * FieldRichContacts.eventsPerCreate)
            progress("fanout: \(count) subscriber(s) following \(target - start) live events")
            let liveGroup = SubscriberGroup(socketPath: daemon.socketPath, count: count, afterSeq: start, until: target)
            let offset = creates + written
            let fill = try BatchRPC.fill(socketPath: daemon.socketPath, total: liveCreates, batchSize: 50, connections: 1) {
                FieldRichContacts.create(offset + $0, prefix: "Fanout")
            }
            written += liveCreates
            live.append(try liveGroup.wait(timeout: self.timeout, writtenPerSecond: Double(target - start) / max(fill.seconds, 1e-9)))
        }
        let report = Report(logEvents: creates * FieldRichContacts.eventsPerCreate, catchUp: catchUp, live: live)
        if self.options.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
    }

    private static func head(_ daemon: DaemonProcess) -> UInt64 {
        UInt64((try? daemon.call("system.health"))?["head_seq"]?.integerValue ?? 0)
    }

    static func printTable(_ report: Report) {
        print("fill: \(report.logEvents) events")
        var table = TextTable(headers: ["phase", "subscribers", "events each", "seconds", "delivered events/s (all)", "slowest subscriber events/s", "written events/s"])
        for (name, phases) in [("catch-up", report.catchUp), ("live", report.live)] {
            for phase in phases {
                table.rows.append([
                    name, "\(phase.subscribers)", "\(phase.eventsEach)", formatted(phase.seconds, 2), formatted(phase.deliveredPerSecond),
                    formatted(phase.slowestSubscriberPerSecond), phase.writtenPerSecond.map { formatted($0) } ?? "-",
                ])
            }
        }
        print(table.rendered())
    }
}

/// Subscribers on their own threads and connections, each reading `events.event` lines until it has
/// every event up to a position.
private final class SubscriberGroup: Sendable {
    private struct Outcome: Sendable {
        var events = 0
        var seconds = 0.0
        var failure: String?
    }

    private let count: Int
    private let expected: Int
    private let outcomes: Mutex<[Outcome]>
    private let done = DispatchSemaphore(value: 0)
    private let started: UInt64

    /// Starts `count` threads, each connecting, subscribing from `afterSeq` and reading until it has
    /// seen the event at `until`.
    init(socketPath: String, count: Int, afterSeq: UInt64, until: UInt64) {
        self.count = count
        self.expected = Int(until - afterSeq)
        self.outcomes = Mutex([Outcome](repeating: Outcome(), count: count))
        self.started = monotonicNanoseconds()
        for index in 0..<count {
            let expected = self.expected
            let started = self.started
            let thread = Thread { [self] in
                var outcome = Outcome()
                do {
                    let reader = try NotificationReader(socketPath: socketPath)
                    let last = try reader.subscribe(afterSeq: afterSeq, count: expected)
                    outcome.events = expected
                    outcome.seconds = Double(monotonicNanoseconds() - started) / 1_000_000_000
                    // Only the last line is parsed: it must be the event at `until`.
                    let value = try JSONValue(parsing: last)
                    if value["params"]?["event"]?["seq"]?.integerValue != Int64(until) {
                        outcome.failure = "the last event was not seq \(until)"
                    }
                } catch {
                    outcome.failure = "\(error)"
                }
                self.outcomes.withLock { $0[index] = outcome }
                self.done.signal()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Waits for every subscriber and summarizes.
    ///
    /// - Throws: ``BenchError`` when one fails or the phase outlasts `timeout` seconds.
    func wait(timeout: Double, writtenPerSecond: Double?) throws -> FanoutBenchmark.Phase {
        for _ in 0..<self.count {
            guard self.done.wait(timeout: .now() + timeout) == .success else { throw BenchError("subscribers timed out after \(formatted(timeout)) s") }
        }
        let outcomes = self.outcomes.withLock { $0 }
        if let failure = outcomes.compactMap(\.failure).first { throw BenchError("a subscriber failed: \(failure)") }
        let seconds = outcomes.map(\.seconds).max() ?? 0
        let total = outcomes.map(\.events).reduce(0, +)
        return FanoutBenchmark.Phase(
            subscribers: self.count,
            eventsEach: self.expected,
            seconds: seconds,
            deliveredPerSecond: Double(total) / max(seconds, 1e-9),
            slowestSubscriberPerSecond: Double(self.expected) / max(seconds, 1e-9),
            writtenPerSecond: writtenPerSecond
        )
    }
}

/// A subscriber's connection read as raw lines: it sends `events.subscribe` and counts the lines that
/// follow, without parsing them, so the figure is the daemon's delivery rate rather than the client's
/// JSON decoding (or its line buffer, which copies the rest of a read on every line).
private final class NotificationReader {
    private let descriptor: Int32

    init(socketPath: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket() failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw BenchError("socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw BenchError("cannot connect to \(socketPath): errno \(errno)")
        }
        self.descriptor = fd
    }

    deinit { close(self.descriptor) }

    /// Subscribes from `afterSeq` and reads until `count` notifications (lines after the answer) have
    /// come; returns the last one.
    func subscribe(afterSeq: UInt64, count: Int) throws -> [UInt8] {
        let request = #"{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"after_seq":\#(afterSeq)}}"# + "\n"
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ write(self.descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
            throw BenchError("cannot send events.subscribe: errno \(errno)")
        }
        // The answer is one more line than the notifications (it may come after some of them).
        var lines = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 18)
        var lineStart: [UInt8] = []
        var last: [UInt8] = []
        while lines < count + 1 {
            let read = buffer.withUnsafeMutableBytes { Glibc.read(self.descriptor, $0.baseAddress, $0.count) }
            if read < 0, errno == EINTR { continue }
            guard read > 0 else { throw BenchError("the daemon closed the subscription after \(lines) lines") }
            var start = 0
            for index in 0..<read where buffer[index] == UInt8(ascii: "\n") {
                lines += 1
                if lines == count + 1 { last = lineStart + buffer[start..<index] }
                lineStart = []
                start = index + 1
            }
            lineStart += buffer[start..<read]
        }
        return last
    }
}
