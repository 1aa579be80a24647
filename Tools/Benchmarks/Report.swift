// ContactLedger — benchmarks.
import Foundation
import RPC

/// A plain-text table with right-aligned columns (the first column left-aligned).
struct TextTable {
    /// Column titles.
    var headers: [String]
    /// Rows of cells, as many as `headers`.
    var rows: [[String]] = []

    /// The table, one line per row, columns separated by two spaces.
    func rendered() -> String {
        var widths = self.headers.map(\.count)
        for row in self.rows {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: max(0, widths[column] - cell.count))
                return column == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(self.headers), rule] + self.rows.map(line)).joined(separator: "\n")
    }
}

/// Formats `value` with `digits` decimals.
func formatted(_ value: Double, _ digits: Int = 0) -> String {
    String(format: "%.\(digits)f", value)
}

/// Prints `value` as pretty, key-sorted JSON on standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// Writes a progress line on standard error, so that `--json` output stays clean.
func progress(_ message: String) {
    FileHandle.standardError.write(Data("· \(message)\n".utf8))
}

extension JSONValue {
    /// The number, whichever way it was decoded.
    var numberValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        case .decimal(let value): NSDecimalNumber(decimal: value).doubleValue
        default: nil
        }
    }
}

/// The daemon's commit counters (`system.stats`), to take per-phase differences.
struct CommitCounters: Sendable {
    /// Write transactions committed so far.
    var commits: Double
    /// Commands committed so far (`commit_batch_avg × commits`).
    var commands: Double
    /// The log's head position.
    var headSeq: Double
    /// The daemon's recent commit latency (a window of the last 4096 commits), in ms.
    var commitP50: Double?
    var commitP99: Double?
    /// The log's part of those commits alone (pages written and fsynced), in ms.
    var logSyncP50: Double?
    var logSyncP99: Double?

    /// Reads the counters from `system.stats`.
    init(daemon: DaemonProcess) throws {
        let stats = try daemon.call("system.stats")
        guard let commits = stats["commits"]?.numberValue, let average = stats["commit_batch_avg"]?.numberValue,
            let head = stats["head_seq"]?.numberValue
        else { throw BenchError("system.stats lacks commits, commit_batch_avg or head_seq: \(stats)") }
        self.commits = commits
        self.commands = (average * commits).rounded()
        self.headSeq = head
        self.commitP50 = stats["commit_latency_ms"]?["p50"]?.numberValue
        self.commitP99 = stats["commit_latency_ms"]?["p99"]?.numberValue
        self.logSyncP50 = stats["commit_log_sync_ms"]?["p50"]?.numberValue
        self.logSyncP99 = stats["commit_log_sync_ms"]?["p99"]?.numberValue
    }

    /// The mean commands per commit between `earlier` and `self`.
    func batchAverage(since earlier: CommitCounters) -> Double {
        let commits = self.commits - earlier.commits
        return commits > 0 ? (self.commands - earlier.commands) / commits : 0
    }

    /// Events appended between `earlier` and `self`.
    func events(since earlier: CommitCounters) -> Double {
        self.headSeq - earlier.headSeq
    }
}

/// Parses a comma-separated list of positive client counts, e.g. `1,16,64`.
func parseClientList(_ text: String) throws -> [Int] {
    let counts = try text.split(separator: ",").map { part -> Int in
        guard let count = Int(part.trimmingCharacters(in: .whitespaces)), count > 0, count <= 1024 else {
            throw BenchError("bad client count '\(part)' (expected e.g. 1,16,64)")
        }
        return count
    }
    guard !counts.isEmpty else { throw BenchError("no client counts given") }
    return counts
}
