// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Projections
import RPC

/// Translates the errors of the lower layers into the JSON-RPC errors of the contract.
enum ErrorMapping {
    static func rpcError(_ error: any Error) -> RPCError? {
        switch error {
        case let error as RPCError:
            return error
        case let error as ContactError:
            return Self.rpcError(error)
        case let error as QueryError:
            var data: [String: JSONValue] = [
                "code": .string(error.code.rawValue),
                "position": .integer(Int64(error.position)),
                "length": .integer(Int64(error.length)),
            ]
            for (key, value) in error.extra { data[key] = .string(value) }
            return RPCError(code: -32004, message: error.message, data: .object(data))
        case let error as StorageUnavailable:
            return .storageUnavailable(reason: error.reason)
        case LogError.damaged(let seq, let damage):
            // Stored records that are not what the log wrote: the storage cannot serve or take the call.
            return .storageUnavailable(reason: "log_damaged", ["seq": .integer(Int64(clamping: seq)), "damage": .string(damage.rawValue)])
        case let error as LMDBError where error.isDamagedPage:
            // A page LMDB found damaged (it has no checksums; most damage ends the process in its
            // assertions instead): the storage cannot serve the call, which is no bug of the daemon's.
            return .storageUnavailable(reason: "storage_damaged")
        case let error as LMDBError where error.isOutOfSpace:
            return .storageUnavailable(reason: error.code == .mapFull ? "map_full" : "disk_full")
        default:
            return nil
        }
    }

    static func rpcError(_ error: ContactError) -> RPCError {
        var data: [String: JSONValue] = ["reason": .string(error.reason)]
        if let field = error.field { data["field"] = .string(field) }
        for (key, detail) in error.details {
            switch detail {
            case .text(let text): data[key] = .string(text)
            case .integer(let value): data[key] = .integer(value)
            case .list(let values): data[key] = .array(values.map { .string($0) })
            }
        }
        let (code, message): (Int, String) =
            switch error.kind {
            case .invalidParams: (-32602, "Invalid params")
            case .notFound: (-32001, "Not found")
            case .conflict: (-32002, "Conflict")
            case .invalidState: (-32003, "Not allowed in the current state")
            case .limitExceeded: (-32006, "Limit exceeded")
            }
        if error.kind == .invalidParams, data["field"] == nil { data["field"] = "params" }
        return RPCError(code: code, message: message, data: .object(data))
    }
}
