// ContactLedger — JSON-RPC layer.
import Foundation

/// Encodes JSON-RPC answers as single `\n`-terminated lines.
public enum JSONLine {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// Encodes any `Encodable` value as compact JSON (no newline inside).
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try Self.encoder.encode(value))
    }

    /// Encodes a JSON value as compact JSON (no newline inside), with ``JSONTextWriter``.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        JSONTextWriter.bytes(of: value)
    }

    /// A JSON string literal for `string`.
    public static func encodeString(_ string: String) -> [UInt8] {
        var output: [UInt8] = []
        JSONTextWriter.write(string: string, to: &output)
        return output
    }

    /// `{"jsonrpc":"2.0","id":…,"result":…}` followed by `\n`.
    public static func success(id: JSONValue, result: [UInt8]) -> [UInt8] {
        var line: [UInt8] = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        JSONTextWriter.write(id, to: &line)
        line += Array(#","result":"#.utf8)
        line += result
        line += Array("}".utf8)
        return line
    }

    /// `{"jsonrpc":"2.0","id":…,"error":{…}}`.
    public static func failure(id: JSONValue, error: RPCError) -> [UInt8] {
        var line: [UInt8] = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        JSONTextWriter.write(id, to: &line)
        line += Array(#","error":"#.utf8)
        JSONTextWriter.write(error.jsonValue, to: &line)
        line += Array("}".utf8)
        return line
    }
}
