// ContactLedger — daemon wiring.
import Foundation
import RPC
import Synchronization

/// An export in this daemon's memory: `exports.status` answers from it. Its state is also stored in the
/// log's environment when it starts and when it ends, so that after a restart an export the stop cut
/// short answers `failed` (`interrupted`) rather than not found.
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

        enum CodingKeys: String, CodingKey {
            case id, workspace, state, path, format, failure
            case rowsTotal = "rows_total"
            case rowsDone = "rows_done"
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

    private let state: Mutex<State>

    init(_ state: State) { self.state = Mutex(state) }

    var snapshot: State { self.state.withLock { $0 } }

    func update(_ body: (inout State) -> Void) { self.state.withLock { body(&$0) } }

    static let registry = Mutex<[String: ExportJob]>([:])

    static func job(_ id: String) -> ExportJob? { Self.registry.withLock { $0[id] } }

    static func register(_ job: ExportJob) {
        let id = job.snapshot.id
        Self.registry.withLock { $0[id] = job }
    }

    /// The key of an export's stored state.
    static func key(_ id: String) -> [UInt8] { Array("export/\(id)".utf8) }
}
