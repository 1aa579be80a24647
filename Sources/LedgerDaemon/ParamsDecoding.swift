// ContactLedger — daemon wiring.
import Foundation
import RPC

/// Decodes a method's `params` into its typed parameters, naming the bad member on failure.
enum ParamsDecoding {
    /// Decodes `params` (an absent `params` is `{}`), refusing members `T` does not know.
    ///
    /// - Throws: -32602 with `data.field` the JSON path of the bad member (`modifiers[2].value`).
    static func decode<T: MethodParams>(_ type: T.Type, from params: JSONValue?) throws -> T {
        let value = params ?? .object([:])
        guard case .object(let members) = value else {
            throw RPCError.invalidParams(field: "params", reason: "must_be_an_object")
        }
        if let unknown = members.keys.sorted().first(where: { !T.memberNames.contains($0) }) {
            throw RPCError.invalidParams(field: unknown, reason: "unknown_member")
        }
        do {
            return try JSONValueDecoder().decode(T.self, from: value)
        } catch let error as DecodingError {
            throw Self.rpcError(error)
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError.invalidParams(field: "params", reason: "invalid")
        }
    }

    /// The JSON path of a coding path: `modifiers[2].value`.
    static func path(_ codingPath: [any CodingKey], appending key: (any CodingKey)? = nil) -> String {
        var path = ""
        for key in codingPath + (key.map { [$0] } ?? []) {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return path.isEmpty ? "params" : path
    }

    private static func rpcError(_ error: DecodingError) -> RPCError {
        switch error {
        case .keyNotFound(let key, let context):
            return .invalidParams(field: Self.path(context.codingPath, appending: key), reason: "required")
        case .typeMismatch(_, let context):
            return .invalidParams(field: Self.path(context.codingPath), reason: "wrong_type")
        case .valueNotFound(_, let context):
            return .invalidParams(field: Self.path(context.codingPath), reason: "required")
        case .dataCorrupted(let context):
            return .invalidParams(field: Self.path(context.codingPath), reason: context.debugDescription.isEmpty ? "invalid" : Self.reason(context.debugDescription))
        @unknown default:
            return .invalidParams(field: "params", reason: "invalid")
        }
    }

    /// Debug descriptions written by our own decoders are snake_case reasons; others become `invalid`.
    private static func reason(_ description: String) -> String {
        description.allSatisfy({ $0.isLowercase || $0 == "_" }) ? description : "invalid"
    }
}

/// The typed parameters of a method, with the member names it accepts.
protocol MethodParams: Decodable {
    static var memberNames: Set<String> { get }
}
