// ContactLedger — daemon wiring.
import Crypto
import RPC

/// The SHA-256 of a command's params that tells a retry from a reuse of its idempotency key (the contract:
/// "same key, different params → -32002").
///
/// A retry is the same command however its params spell what the daemon reads the same way: `workspace`
/// (the key is kept per workspace already, so `"workspace": "main"` added on a retry names the same one)
/// and a top-level member given as `null` (an optional param's null is its absence) count for nothing;
/// every other member counts as sent, `actor` included (it is recorded on the events). A client library
/// that fills in defaults on its retry got -32002 where the contract promises the first answer.
struct CommandParamsHash {
    /// The hash a retry is compared by, and which is stored with the key.
    let compared: [UInt8]
    /// The hash of the params as sent, when it differs: what versions before stop 52 stored.
    let asSent: [UInt8]?

    init(_ call: RPCCall) {
        let params = call.params ?? .object([:])
        var counted = params
        if case .object(let members) = params {
            counted = .object(members.filter { key, value in key != "workspace" && value != .null })
        }
        self.compared = Self.hash(call.method, counted)
        self.asSent = counted == params ? nil : Self.hash(call.method, params)
    }

    private static func hash(_ method: String, _ params: JSONValue) -> [UInt8] {
        let bytes = (try? SortedKeysJSON.encode(params)) ?? []
        return Array(SHA256.hash(data: Array(method.utf8) + [0] + bytes))
    }
}
