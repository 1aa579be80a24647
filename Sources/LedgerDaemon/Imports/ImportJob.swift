// ContactLedger — daemon wiring.
import CivilTime
import ContactDomain
import Foundation
import RPC
import Spreadsheet
import Synchronization

/// The state of one import, as `imports.status` answers it. Kept in memory while the daemon runs and
/// persisted with every batch (in the batch's own transaction), so after a restart the status of an
/// import that was cut short is still known.
struct ImportJobState: Codable, Sendable {
    struct Column: Codable, Sendable {
        var header: String
        var kind: String
        var key: String?
        var new: Bool?
    }

    struct Failure: Codable, Sendable {
        var reason: String
        var message: String
    }

    var id: String
    var workspace: String
    var state: String
    var dryRun: Bool
    var rowsTotal: Int
    var rowsDone: Int
    var created: Int
    var updated: Int
    var batchesDone: Int
    var batchesTotal: Int
    var startedOn: Timestamp
    var finishedOn: Timestamp?
    /// When the last batch was committed: an import cut short by a stop has no end, and its rate is
    /// what it had reached then (it fell for as long as the status was asked).
    var progressOn: Timestamp?
    var columns: [Column]
    var newFields: [String]
    var group: String?
    var failure: Failure?
    /// Kept out of the persisted summary (each batch stores its own).
    var errors: [ImportCellError] = []

    enum CodingKeys: String, CodingKey {
        case id, workspace, state, columns, group, failure, created, updated
        case dryRun = "dry_run"
        case rowsTotal = "rows_total"
        case rowsDone = "rows_done"
        case batchesDone = "batches_done"
        case batchesTotal = "batches_total"
        case startedOn = "started_on"
        case finishedOn = "finished_on"
        case progressOn = "progress_on"
        case newFields = "new_fields"
    }

    /// The answer of `imports.status`.
    func answer(now: Date = Date()) -> JSONValue {
        let isRunning = self.state == "running" || self.state == "pending"
        let end = self.finishedOn?.date ?? (isRunning ? now : self.progressOn?.date ?? self.startedOn.date)
        let elapsed = max(end.timeIntervalSince(self.startedOn.date), 0.001)
        var object: [String: JSONValue] = [
            "import": .string(self.id),
            "state": .string(self.state),
            "dry_run": .bool(self.dryRun),
            "rows_total": .integer(Int64(self.rowsTotal)),
            "rows_done": .integer(Int64(self.rowsDone)),
            "created": .integer(Int64(self.created)),
            "updated": .integer(Int64(self.updated)),
            "errors": .array(self.errors.map { error in
                ["row": .integer(Int64(error.row)), "column": error.column.map { .string($0) } ?? .null, "message": .string(error.message)]
            }),
            "rate": .double((Double(self.rowsDone) / elapsed * 10).rounded() / 10),
            "started_on": .string(self.startedOn.description),
            "finished_on": self.finishedOn.map { .string($0.description) } ?? .null,
            "columns": .array(self.columns.map { column in
                var member: [String: JSONValue] = ["header": .string(column.header), "kind": .string(column.kind)]
                if let key = column.key { member["key"] = .string(key) }
                if let new = column.new { member["new"] = .bool(new) }
                return .object(member)
            }),
            "new_fields": .array(self.newFields.map { .string($0) }),
        ]
        if let failure = self.failure {
            object["failure"] = ["reason": .string(failure.reason), "message": .string(failure.message)]
        }
        return .object(object)
    }
}

/// A running (or finished) import in this daemon's memory.
final class ImportJob: Sendable {
    private let state: Mutex<ImportJobState>

    init(_ state: ImportJobState) { self.state = Mutex(state) }

    var snapshot: ImportJobState { self.state.withLock { $0 } }

    func update(_ body: (inout ImportJobState) -> Void) { self.state.withLock { body(&$0) } }

    /// Every job of this process, by id.
    static let registry = Mutex<[String: ImportJob]>([:])

    static func job(_ id: String) -> ImportJob? { Self.registry.withLock { $0[id] } }

    static func register(_ job: ImportJob) {
        let id = job.snapshot.id
        Self.registry.withLock { $0[id] = job }
    }
}

/// Cell values as import text (behaviour reference §6.2): numbers as their decimal text, booleans as
/// `TRUE`/`FALSE`, dates as ISO 8601 in the workspace timezone (the sheet's wall-clock time taken there;
/// a moment the sheet gave with its offset shown as that same moment there).
enum ImportCells {
    static func text(_ cell: Cell, timeZone: TimeZone) -> String? {
        switch cell {
        case .empty: nil
        case .text(let text): text
        case .number(let number): Cell.decimalText(number)
        case .bool(let value): value ? "TRUE" : "FALSE"
        case .date(let date): Self.iso(wallClock: date, in: timeZone)
        case .instant(let moment): Self.iso(instant: moment, in: timeZone)
        }
    }

    /// `2020-09-18T15:45:30+02:00` for the wall-clock time `date` shows in UTC, placed in `timeZone` as the
    /// same text in a CSV is (``CivilCalendar/instant(localMicros:in:)``, goflow's rules where clocks jump), to
    /// the whole second. Formatted by hand: a `DateFormatter` per cell cost most of an import's parsing time.
    static func iso(wallClock date: Date, in timeZone: TimeZone) -> String {
        let seconds = ISODateCell.split(date).seconds
        return Self.iso(instant: CivilCalendar.instant(localMicros: seconds * 1_000_000, in: timeZone), in: timeZone)
    }

    /// `2023-05-17T12:30:00.125+02:00` for the moment `instant` as `timeZone` shows it, its fraction of
    /// a second kept (the text is parsed again, and the field's reading keeps microseconds). The offset is
    /// the zone's at that moment, never found again from the clock time, which names two moments where
    /// clocks go back; whole minutes, as the field's reading shows it. Days are proleptic Gregorian, as
    /// the reading's are: Foundation's calendar is Julian before 1582.
    static func iso(instant: Date, in timeZone: TimeZone) -> String {
        let (seconds, micros) = ISODateCell.split(instant)
        let offset = Int(CivilCalendar.offsetSeconds(timeZone, at: Date(timeIntervalSince1970: TimeInterval(seconds))))
        return Self.iso(ISODateCell.components(seconds: seconds + Int64(offset)), micros: micros, offset: offset)
    }

    /// The date and time `parts` (as `ISODateCell` writes them) and `offset` as `±hh:mm`.
    private static func iso(_ parts: DateComponents, micros: Int64, offset: Int) -> String {
        let hours = abs(offset) / 3600
        let minutes = abs(offset) % 3600 / 60
        // Zero-padded by hand: `String(format:)` per date cell was a tenth of an import's planning.
        let zone = "\(offset < 0 ? "-" : "+")\(hours < 10 ? "0" : "")\(hours):\(minutes < 10 ? "0" : "")\(minutes)"
        return ISODateCell.text(parts, micros: micros) + zone
    }
}

/// Thrown out of a dry-run batch so its nested transaction rolls back; carries what it would have done.
struct DryRunRollback: Error, Sendable {
    var result: JSONValue
}
