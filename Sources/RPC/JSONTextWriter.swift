// ContactLedger — JSON-RPC layer.
import Foundation

/// Writes a ``JSONValue`` as compact JSON text.
///
/// Why not `JSONEncoder`: encoding a `JSONValue` through `Codable` builds a second tree of boxed
/// values and walks it again; answers are written on every call (and, for commands, on the writer
/// thread), where that cost showed as a quarter of the writer's time in profiles.
///
/// The output matches `JSONEncoder` with `.withoutEscapingSlashes` and `.sortedKeys`: members in
/// key order (so equal values give equal bytes), `"` `\` and control characters escaped, other
/// characters as UTF-8, integral doubles without `.0`. A double that is not finite has no JSON
/// form and is written as `null`.
public enum JSONTextWriter {
    /// The JSON text of `value`.
    public static func bytes(of value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        Self.write(value, to: &output)
        return output
    }

    /// Appends the JSON text of `value` to `output`.
    public static func write(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: flag ? "true".utf8 : "false".utf8)
        case .integer(let number): Self.write(integer: number, to: &output)
        case .double(let number): Self.write(double: number, to: &output)
        case .decimal(let number): output.append(contentsOf: number.description.utf8)
        case .string(let text): Self.write(string: text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            var first = true
            for key in members.keys.sorted(by: Self.utf8Order) {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                Self.write(string: key, to: &output)
                output.append(UInt8(ascii: ":"))
                if let member = members[key] { Self.write(member, to: &output) }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Keys in the order of their UTF-8 bytes (which is code point order, as `.sortedKeys` on ASCII keys).
    private static func utf8Order(_ left: String, _ right: String) -> Bool {
        left.utf8.lexicographicallyPrecedes(right.utf8)
    }

    private static func write(integer: Int64, to output: inout [UInt8]) {
        if integer >= 0, integer < 10 {
            output.append(UInt8(ascii: "0") + UInt8(integer))
            return
        }
        output.append(contentsOf: String(integer).utf8)
    }

    private static func write(double: Double, to output: inout [UInt8]) {
        guard double.isFinite else {
            output.append(contentsOf: "null".utf8)
            return
        }
        var text = double.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        output.append(contentsOf: text.utf8)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A string literal: quotes, the escapes JSON requires, everything else as its UTF-8 bytes.
    public static func write(string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
            case 0x0A: output.append(contentsOf: #"\n"#.utf8)
            case 0x0D: output.append(contentsOf: #"\r"#.utf8)
            case 0x09: output.append(contentsOf: #"\t"#.utf8)
            case 0x08: output.append(contentsOf: #"\b"#.utf8)
            case 0x0C: output.append(contentsOf: #"\f"#.utf8)
            case 0..<0x20:
                output.append(contentsOf: #"\u00"#.utf8)
                output.append(Self.hexDigits[Int(byte >> 4)])
                output.append(Self.hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// The compact JSON text of this value; see ``JSONTextWriter``.
    public var jsonText: [UInt8] { JSONTextWriter.bytes(of: self) }
}
