// ContactLedger — JSON text.
import Foundation

/// Writes a ``JSONValue`` as compact JSON text.
///
/// Why not `JSONEncoder`: encoding a `JSONValue` through `Codable` builds a second tree of boxed
/// values and walks it again; answers are written on every call (and, for commands, on the writer
/// thread), where that cost showed as a quarter of the writer's time in profiles.
///
/// The output matches `JSONEncoder` with `.withoutEscapingSlashes` and `.sortedKeys`: members in
/// key order (so equal values give equal bytes), strings escaped as ``JSONTextOutput`` does, integral
/// doubles without `.0`. A double that is not finite has no JSON form and is written as `null`.
public enum JSONTextWriter {
    /// The JSON text of `value`.
    public static func bytes(of value: JSONValue) -> [UInt8] {
        var output = JSONTextOutput()
        Self.write(value, to: &output)
        return output.bytes
    }

    /// Appends the JSON text of `value` to `bytes`.
    public static func write(_ value: JSONValue, to bytes: inout [UInt8]) {
        var output = JSONTextOutput(capacity: 0)
        swap(&output.bytes, &bytes)
        Self.write(value, to: &output)
        swap(&output.bytes, &bytes)
    }

    /// A string literal, appended to `bytes`.
    public static func write(string: String, to bytes: inout [UInt8]) {
        Self.write(.string(string), to: &bytes)
    }

    private static func write(_ value: JSONValue, to output: inout JSONTextOutput) {
        switch value {
        case .null: output.null()
        case .bool(let flag): output.bool(flag)
        case .integer(let number): output.integer(number)
        case .double(let number): Self.write(double: number, to: &output)
        case .decimal(let number): output.raw(number.description.utf8)
        case .string(let text): output.string(text)
        case .array(let elements):
            output.punctuation(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.punctuation(UInt8(ascii: ",")) }
                Self.write(element, to: &output)
            }
            output.punctuation(UInt8(ascii: "]"))
        case .object(let members):
            output.punctuation(UInt8(ascii: "{"))
            // Sorted as pairs: sorting the keys, then looking each one up again, hashed every key twice.
            for (index, member) in members.sorted(by: { Self.utf8Order($0.key, $1.key) }).enumerated() {
                if index > 0 { output.punctuation(UInt8(ascii: ",")) }
                output.string(member.key)
                output.punctuation(UInt8(ascii: ":"))
                Self.write(member.value, to: &output)
            }
            output.punctuation(UInt8(ascii: "}"))
        }
    }

    /// Keys in the order of their UTF-8 bytes (which is code point order, as `.sortedKeys` on ASCII keys).
    ///
    /// Compared with one `memcmp`: the generic byte-by-byte comparison of two UTF-8 views was half the
    /// time of writing an answer. (`withUTF8` costs nothing for a native string, every string on Linux.)
    private static func utf8Order(_ left: String, _ right: String) -> Bool {
        var left = left
        var right = right
        return left.withUTF8 { leftBytes in
            right.withUTF8 { rightBytes in
                let common = min(leftBytes.count, rightBytes.count)
                if common > 0, let leftBase = leftBytes.baseAddress, let rightBase = rightBytes.baseAddress {
                    let order = memcmp(leftBase, rightBase, common)
                    if order != 0 { return order < 0 }
                }
                return leftBytes.count < rightBytes.count
            }
        }
    }

    private static func write(double: Double, to output: inout JSONTextOutput) {
        guard double.isFinite else {
            output.null()
            return
        }
        var text = double.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        output.raw(text.utf8)
    }
}

extension JSONValue {
    /// The compact JSON text of this value; see ``JSONTextWriter``.
    public var jsonText: [UInt8] { JSONTextWriter.bytes(of: self) }
}
