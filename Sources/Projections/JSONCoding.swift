// ContactLedger — read models.
import Foundation

/// The JSON coders read models store their smaller records with (workspaces, messages); contacts use
/// the binary ``ContactRecord``.
///
/// One encoder and one decoder serve every call: making them per record showed in replay profiles,
/// and both are safe to share across threads.
enum JSONCoding {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        // Sorted keys: JSONEncoder does not keep member order on Linux, and rebuilt records must equal live ones byte for byte.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    private static let decoder = JSONDecoder()

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try Self.encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        try Self.decoder.decode(T.self, from: Data(bytes))
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try Self.decoder.decode(T.self, from: Data(bytes))
    }
}
