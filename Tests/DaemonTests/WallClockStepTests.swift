// ContactLedger — daemon tests.
import ContactDomain
import Foundation
import RPC
import TestSupport
import Testing

/// The daemon's wall clock stepped while it runs, as NTP or an administrator steps it: the test library
/// `libClockShim.so` (Tests/ClockShim), loaded with LD_PRELOAD, shifts what the wall clock reads by the
/// offset in a file the test writes; the monotonic clocks are left alone. Durations (uptime, a rebuild's
/// rate and ETA) are measured on the monotonic clock; stamps never go back along the log.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct WallClockStepTests {
    /// A daemon whose wall clock reads `offsetFile`'s offset (microseconds) ahead of the real one.
    private static func daemon(offsetFile: String) throws -> DaemonHarness {
        let shim = DaemonHarness.productsDirectory.appendingPathComponent("libClockShim.so").path
        try #require(FileManager.default.fileExists(atPath: shim), "the ClockShim product is built with the tests")
        try Self.step(offsetFile, seconds: 0)
        return try DaemonHarness(environment: ["LD_PRELOAD": shim, "CLOCKSHIM_OFFSET_FILE": offsetFile])
    }

    /// Sets the daemon's wall clock `seconds` from the real one, and waits for the shim to read it again.
    private static func step(_ offsetFile: String, seconds: Int64) throws {
        try Data(String(seconds * 1_000_000).utf8).write(to: URL(fileURLWithPath: offsetFile), options: .atomic)
        usleep(60_000)
    }

    private static func time(_ answer: JSONValue) throws -> Timestamp {
        try #require(answer.string("created_on").flatMap { Timestamp(rfc3339: $0) })
    }

    @Test func stampsGoOnAfterTheLogsLastAndUptimeCountsRealTime() throws {
        let offsetFile = "/tmp/clt-clock-\(UUID().uuidString.prefix(8)).offset"
        defer { try? FileManager.default.removeItem(atPath: offsetFile) }
        let daemon = try Self.daemon(offsetFile: offsetFile)
        defer { daemon.stop() }
        let startedUptime = try #require(try daemon.call("system.health").number("uptime_s"))

        // An hour ahead: the daemon's stamps show it (the shim is in force)…
        try Self.step(offsetFile, seconds: 3_600)
        let ahead = try Self.time(try daemon.call("contacts.create", ["name": "Ahead"]))
        #expect(abs(ahead.microseconds - Timestamp.now.microseconds - 3_600_000_000) < 60_000_000, "\(ahead)")
        // …but not its uptime, which counts the seconds it has run.
        let aheadUptime = try #require(try daemon.call("system.health").number("uptime_s"))
        #expect(aheadUptime >= startedUptime && aheadUptime < startedUptime + 60, "uptime \(startedUptime) then \(aheadUptime)")

        // Back to the real time, an hour behind the last stamp: the next event is stamped after it.
        try Self.step(offsetFile, seconds: 0)
        let back = try daemon.call("contacts.create", ["name": "Back"])
        #expect(try Self.time(back) > ahead)
        let times = (try daemon.call("events.read")["items"]?.arrayValue ?? []).compactMap { $0.string("created_on").flatMap { Timestamp(rfc3339: $0) } }
        #expect(times.count == 2 && times == times.sorted(), "\(times)")
        let backUptime = try #require(try daemon.call("system.health").number("uptime_s"))
        #expect(backUptime >= aheadUptime && backUptime < aheadUptime + 60, "uptime \(aheadUptime) then \(backUptime)")
    }

    @Test func aRebuildsRateAndETAIgnoreAClockStep() throws {
        let offsetFile = "/tmp/clt-clock-\(UUID().uuidString.prefix(8)).offset"
        defer { try? FileManager.default.removeItem(atPath: offsetFile) }
        let daemon = try Self.daemon(offsetFile: offsetFile)
        defer { daemon.stop() }
        try daemon.populate(count: 20_000)
        let started = ContinuousClock.now
        try daemon.call("projections.rebuild", ["name": "contacts"])
        // An hour ahead while the rebuild runs: timed on the wall clock, it would have taken an hour.
        try Self.step(offsetFile, seconds: 3_600)
        var samples: [(rate: Double, eta: Double?, position: Int64, head: Int64)] = []
        while true {
            let status = try #require(try daemon.call("projections.status")["projections"]?.arrayValue?.first)
            guard status.string("state") == "rebuilding" else { break }
            if let rebuild = status["rebuild"], let rate = rebuild.number("events_per_s"), let position = rebuild.int("position"), position > 0 {
                samples.append((rate, rebuild.number("eta_s"), position, status.int("head_seq") ?? 0))
            }
            usleep(5_000)
        }
        let elapsed = started.duration(to: .now) / .seconds(1)
        try #require(!samples.isEmpty, "the rebuild of 20,000 events was never seen under way")
        for sample in samples {
            // At least the rate of the whole run so far, measured from here (the rebuild began after `started`).
            #expect(sample.rate >= Double(sample.position) / elapsed * 0.9, "\(sample) after \(elapsed) s")
            if let eta = sample.eta { #expect(eta < elapsed + 60, "\(sample)") }
            // At the head, what is left (staging's last commit, the swap) has no ETA: it showed 0.
            if sample.position >= sample.head { #expect(sample.eta == nil, "\(sample)") }
        }
    }
}
