// ContactLedger — daemon wiring.
import Foundation

/// JSON of a `Codable` value with its object keys sorted: the same value gives the same bytes in every
/// run of the daemon (`JSONEncoder`'s own key order follows a hash seeded per process). For what is
/// stored, hashed or handed out and compared later: job states, params hashes, cursors.
enum SortedKeysJSON {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }
}
