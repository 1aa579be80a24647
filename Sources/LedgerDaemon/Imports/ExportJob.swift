// ContactLedger — daemon wiring.
import Foundation
import RPC
import Synchronization

/// An export in this daemon's memory: `exports.status` answers from it. Its state is also stored in the
/// log's environment when it starts and when it ends, so that after a restart an export the stop cut
/// short answers `failed` (`interrupted`) rather than not found.
///
/// A stop of the daemon asks a running export to stop (``requestStop()``) and waits for it
/// (``waitUntilEnded()``): it ends between two rows, its temporary files removed, rather than being cut
/// off mid-file with the process, which left them beside the destination with every row written so far.
final class ExportJob: Sendable {
    struct State: Codable, Sendable {
        var id: String
        var workspace: String
        var state: String
        var rowsTotal: Int
        var rowsDone: Int
        var path: String
        var format: String
        var failure: String?
        /// The names of the temporary files the export writes in its destination's directory, stored
        /// when it starts (a name is random: a kill leaves files no one could tell from another's) and
        /// cleared when it ends, having removed them. A start finds them on an export the daemon's end
        /// cut short and removes them (``InterruptedExports``). Never part of an answer.
        var temporaryFiles: [String]?

        enum CodingKeys: String, CodingKey {
            case id, workspace, state, path, format, failure
            case rowsTotal = "rows_total"
            case rowsDone = "rows_done"
            case temporaryFiles = "temporary_files"
        }

        /// As stored: JSON with sorted keys.
        func encoded() throws -> [UInt8] { try SortedKeysJSON.encode(self) }

        /// A stored state as an earlier run of the daemon left it: one still pending or running was cut
        /// short by a stop or a crash, and its file was never renamed into place.
        static func stored(_ bytes: [UInt8]) -> State? {
            guard var state = try? JSONDecoder().decode(State.self, from: Data(bytes)) else { return nil }
            if state.state == "pending" || state.state == "running" {
                state.state = "failed"
                state.failure = "interrupted"
            }
            return state
        }

        var answer: JSONValue {
            var object: [String: JSONValue] = [
                "export": .string(self.id),
                "state": .string(self.state),
                "rows_total": .integer(Int64(self.rowsTotal)),
                "rows_done": .integer(Int64(self.rowsDone)),
                "path": .string(self.path),
                "format": .string(self.format),
            ]
            if let failure = self.failure { object["failure"] = ["reason": .string(failure)] }
            return .object(object)
        }
    }

    /// Thrown between two rows of an export asked to stop.
    struct Stopped: Error {}

    private let state: Mutex<State>
    private let stopRequested = Atomic<Bool>(false)
    /// The task that runs the export and stores its end, once started.
    private let run = Mutex<Task<Void, Never>?>(nil)

    init(_ state: State) { self.state = Mutex(state) }

    var snapshot: State { self.state.withLock { $0 } }

    func update(_ body: (inout State) -> Void) { self.state.withLock { body(&$0) } }

    /// Keeps the task that runs the export, for a stop to wait for.
    func attach(_ task: Task<Void, Never>) { self.run.withLock { $0 = task } }

    /// Asks the export to stop at its next row.
    func requestStop() { self.stopRequested.store(true, ordering: .relaxed) }

    /// Throws ``Stopped`` once a stop was asked for: the export calls it between rows.
    func checkNotStopped() throws(Stopped) {
        if self.stopRequested.load(ordering: .relaxed) { throw Stopped() }
    }

    /// Returns once the export's task has ended (its files removed, its end stored), at once if it has
    /// none yet.
    func waitUntilEnded() async {
        await self.run.withLock { $0 }?.value
    }

    /// Asks every export of this process to stop and waits until each has ended.
    static func stopAll() async {
        let jobs = Self.registry.withLock { Array($0.values) }
        for job in jobs { job.requestStop() }
        for job in jobs { await job.waitUntilEnded() }
    }

    static let registry = Mutex<[String: ExportJob]>([:])

    static func job(_ id: String) -> ExportJob? { Self.registry.withLock { $0[id] } }

    static func register(_ job: ExportJob) {
        let id = job.snapshot.id
        Self.registry.withLock { $0[id] = job }
    }

    /// The key of an export's stored state.
    static func key(_ id: String) -> [UInt8] { Array("export/\(id)".utf8) }
}
