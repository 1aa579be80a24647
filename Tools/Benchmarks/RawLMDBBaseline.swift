// ContactLedger — benchmarks.
import Foundation
import LedgerStore

/// The ceiling the daemon's appends are compared with: durable LMDB writes through the same
/// ``Environment`` (default full-sync commits, one fsync per write transaction), with no RPC, no
/// decisions and no read models.
enum RawLMDBBaseline {
    /// What to write per event.
    enum Shape: String, Codable, Sendable {
        /// One `put` of a value of the event's stored size, under an increasing 8-byte key.
        case raw
        /// One ``EventLog`` append (SHA-256 chain, stream index, stream head, log head: four puts).
        case eventLog = "event_log"
    }

    /// What one baseline run measured.
    struct Result: Codable, Sendable {
        var shape: Shape
        var valueBytes: Int
        /// Events per write transaction (and so per fsync).
        var batch: Int
        var events: Int
        var transactions: Int
        var seconds: Double
        /// Durable events per second.
        var eventsPerSecond: Double
        /// Latency of one write transaction, commit and fsync included.
        var commitLatency: LatencySummary
        /// The pause after each transaction, in microseconds (0: back to back).
        var gapMicroseconds: Double = 0
        /// CPU time of the writing thread per event, user and system (a pause, being busy, counts too).
        var cpuMicrosecondsPerEvent: Double = 0
    }

    /// Writes events of `valueBytes` bytes, `batch` per write transaction, for `seconds`, into a fresh
    /// environment under `/tmp` (the file system the daemon's data directory is on), then removes it.
    ///
    /// - Parameter gapNanoseconds: a pause after each transaction, spent busy on this thread (a daemon
    ///   serving one client spends that time on the request's other work). 0 writes back to back, as
    ///   the baseline does; a gap shows what the disk's sync costs when it comes after one.
    /// - Throws: LMDB errors.
    static func run(shape: Shape, valueBytes: Int, batch: Int, seconds: Double, gapNanoseconds: UInt64 = 0) throws -> Result {
        let directory = DaemonProcess.makeTemporaryDirectory(prefix: "clraw")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var result = try Self.measure(
            directory: directory, shape: shape, valueBytes: valueBytes, batch: max(1, batch), seconds: seconds, gapNanoseconds: gapNanoseconds
        )
        result.gapMicroseconds = Double(gapNanoseconds) / 1000
        return result
    }

    /// Runs the write loop in an environment opened on `directory`.
    private static func measure(
        directory: String, shape: Shape, valueBytes: Int, batch: Int, seconds: Double, gapNanoseconds: UInt64
    ) throws -> Result {
        let environment = try Environment(directory: directory)
        let tables = try environment.openTables(["bench.raw"] + EventLog.tableNames)
        guard let rawTable = tables["bench.raw"] else { throw BenchError("the baseline table did not open") }
        let log = try EventLog(tables: tables)
        var generator = SystemRandomNumberGenerator()
        // Distinct random bytes per event, so nothing is shared or trivially compressible.
        let pool = (0..<(valueBytes + 4096)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // For the log shape, split the size as the daemon does: a small header and the payload.
        let headerBytes = min(160, valueBytes / 4)
        let payloadBytes = max(0, valueBytes - headerBytes - 102)
        var seq: UInt64 = 0
        var events = 0
        var latencies: [UInt64] = []
        latencies.reserveCapacity(1 << 14)
        // The first quarter second (untimed) grows the file and fills LMDB's free list, as the daemon's
        // warm-up does for its environment.
        let warmUpEnds = monotonicNanoseconds() + 250_000_000
        var started = monotonicNanoseconds()
        var cpuStarted = CPUTime.currentThread()
        var deadline = warmUpEnds + UInt64(seconds * 1_000_000_000)
        var warmingUp = true
        while monotonicNanoseconds() < deadline {
            if warmingUp, monotonicNanoseconds() >= warmUpEnds {
                warmingUp = false
                latencies.removeAll(keepingCapacity: true)
                events = 0
                started = monotonicNanoseconds()
                cpuStarted = CPUTime.currentThread()
                deadline = started + UInt64(seconds * 1_000_000_000)
            }
            let transactionStarted = monotonicNanoseconds()
            try environment.write { txn in
                for _ in 0..<batch {
                    seq += 1
                    let offset = Int(seq % 4096)
                    switch shape {
                    case .raw:
                        let value = Array(pool[offset..<(offset + valueBytes)])
                        try txn.put(rawTable, key: bigEndianBytes(seq), value: value, append: true)
                    case .eventLog:
                        let header = Array(pool[offset..<(offset + headerBytes)])
                        let payload = Array(pool[(offset + headerBytes)..<(offset + headerBytes + payloadBytes)])
                        try log.append(to: "contact/\(seq)", expectedVersion: 0, in: txn) { _ in
                            EncodedRecord(header: header, payload: payload)
                        }
                    }
                }
            }
            let transactionEnded = monotonicNanoseconds()
            latencies.append(transactionEnded - transactionStarted)
            events += batch
            while gapNanoseconds > 0, monotonicNanoseconds() - transactionEnded < gapNanoseconds {}
        }
        let elapsed = Double(monotonicNanoseconds() - started) / 1_000_000_000
        let cpuMicrosecondsPerEvent = CPUTime.microsecondsPerOperation(from: cpuStarted, to: CPUTime.currentThread(), operations: events)
        return Result(
            shape: shape,
            valueBytes: valueBytes,
            batch: batch,
            events: events,
            transactions: latencies.count,
            seconds: elapsed,
            eventsPerSecond: Double(events) / elapsed,
            commitLatency: LatencySummary(nanoseconds: latencies),
            cpuMicrosecondsPerEvent: cpuMicrosecondsPerEvent ?? 0
        )
    }

    /// The mean size of the log records the daemon stored in `directory` (the daemon must be stopped),
    /// as the log stores them: format byte, three hashes, header length, header, flag, payload.
    ///
    /// - Returns: the mean size and the number of records it is taken over (at most `limit`).
    static func meanStoredRecordBytes(directory: String, limit: Int = 5000) throws -> (bytes: Int, records: Int) {
        let environment = try Environment(directory: directory)
        let tables = try environment.openTables(EventLog.tableNames)
        let log = try EventLog(tables: tables)
        var total = 0
        var count = 0
        try environment.read { txn in
            try log.forEach(after: 0, in: txn) { record in
                total += 1 + 3 * 32 + 4 + record.header.count + 1 + (record.payload?.count ?? 0)
                count += 1
                return count < limit
            }
        }
        return (count == 0 ? 0 : total / count, count)
    }
}

/// `value` as 8 big-endian bytes (sorts like the number).
func bigEndianBytes(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
}
