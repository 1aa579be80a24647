// ContactLedger — daemon wiring.
import Foundation
import RPC
import Synchronization

/// An export in this daemon's memory: `exports.status` answers from it.
final class ExportJob: Sendable {
    struct State: Sendable {
        var id: String
        var workspace: String
        var state: String
        var rowsTotal: Int
        var rowsDone: Int
        var path: String
        var format: String
        var failure: String?

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
}
