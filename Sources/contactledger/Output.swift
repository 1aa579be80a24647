// ContactLedger — command-line client.
import Foundation
import RPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes results for people (aligned tables, key-value blocks) or for scripts (JSON), and errors to stderr.
///
/// Everything here is synchronous and writes straight to the standard streams; it holds no state.
enum Output {
    /// Members shown first, in this order, wherever an object is summarised on one line; the rest follow sorted.
    static let leadingKeys = [
        "kind", "id", "uuid", "key", "name", "field", "reason", "code", "status", "position", "length", "limit",
        "workspace", "method", "actual_version", "expected_version", "reference",
    ]

    /// Whether stdout is a terminal that should get colour (not when piped, nor with `NO_COLOR` or `TERM=dumb`).
    static var isColourEnabled: Bool {
        let environment = ProcessInfo.processInfo.environment
        return isatty(1) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
    }

    /// `text` in bold when colour is enabled, unchanged otherwise.
    static func bold(_ text: String) -> String {
        Self.isColourEnabled ? "\u{1B}[1m\(text)\u{1B}[0m" : text
    }

    // MARK: JSON

    /// `value` as JSON with sorted keys: pretty (indented, several lines) or compact (one line).
    static func json(_ value: JSONValue, pretty: Bool) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Prints `value` as pretty JSON with sorted keys (the `--json` output).
    static func printJSON(_ value: JSONValue) {
        print(Self.json(value, pretty: true))
    }

    // MARK: Errors

    /// Prints one line to stderr, flushing stdout first so the two streams stay in order on a terminal.
    static func printError(_ line: String) {
        fflush(nil)
        let label =
            isatty(2) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            ? "\u{1B}[31merror\u{1B}[0m" : "error"
        FileHandle.standardError.write(Data("\(label)\(line)\n".utf8))
    }

    /// The one-line form of a JSON-RPC error: ` -32001: Not found (kind=contact id=…)` (after the `error` label).
    static func describe(_ error: RPCError) -> String {
        var line = " \(error.code): \(error.message)"
        if let data = error.data, data != .null {
            line += " (\(Self.inline(data)))"
        }
        return line
    }

    // MARK: Cells and one-line summaries

    /// A value as a table cell or block value: strings as they are, `null` as `-`, arrays joined with `, `,
    /// objects as `key=value` pairs.
    static func text(_ value: JSONValue?) -> String {
        guard let value else { return "-" }
        switch value {
        case .null: return "-"
        case .bool(let flag): return flag ? "true" : "false"
        case .string(let string): return string.isEmpty ? "\"\"" : Self.singleLine(string)
        case .array(let items): return items.isEmpty ? "-" : items.map { Self.text($0) }.joined(separator: ", ")
        case .object: return Self.inline(value)
        default: return Self.json(value, pretty: false)  // numbers, in whatever representation JSONValue has
        }
    }

    /// A field value (`{text, number?, datetime?, …}`) as its text; any other value as ``text(_:)``.
    static func fieldText(_ value: JSONValue?) -> String {
        if let text = value?["text"]?.stringValue { return Self.singleLine(text) }
        return Self.text(value)
    }

    /// An object as `key=value key=value` (``leadingKeys`` first), anything else as compact JSON.
    static func inline(_ value: JSONValue) -> String {
        guard case .object(let members) = value else { return Self.json(value, pretty: false) }
        return Self.orderedKeys(members.keys).compactMap { key in
            members[key].map { "\(key)=\(Self.inlineValue($0))" }
        }.joined(separator: " ")
    }

    /// `text` cut to `width` characters, ending in `…` when cut.
    static func truncate(_ text: String, to width: Int) -> String {
        guard width > 1, text.count > width else { return text }
        return String(text.prefix(width - 1)) + "…"
    }

    /// `text` followed by spaces up to `width` characters (grapheme clusters, not UTF-16 units).
    static func pad(_ text: String, to width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Keys in display order: ``leadingKeys`` first, then the rest sorted.
    static func orderedKeys(_ keys: some Collection<String>) -> [String] {
        let leading = Self.leadingKeys.filter { keys.contains($0) }
        return leading + keys.filter { !Self.leadingKeys.contains($0) }.sorted()
    }

    private static func inlineValue(_ value: JSONValue) -> String {
        switch value {
        case .string(let string):
            let isPlain = !string.isEmpty && !string.contains(where: { $0.isWhitespace || $0 == "=" || $0 == "\"" })
            return isPlain ? string : Self.json(value, pretty: false)
        default:
            return Self.json(value, pretty: false)
        }
    }

    private static func singleLine(_ text: String) -> String {
        text.contains(where: \.isNewline) ? text.split(whereSeparator: \.isNewline).joined(separator: " ⏎ ") : text
    }

    // MARK: Blocks

    /// Prints aligned `key  value` lines.
    static func printBlock(_ pairs: [(String, String)]) {
        let width = pairs.map(\.0.count).max() ?? 0
        for (key, value) in pairs {
            let padded = Self.pad(key, to: width)
            print("\(Self.bold(padded))  \(value)")
        }
    }

    /// Prints an object as a key-value block, nested objects flattened to dotted keys.
    ///
    /// - Parameters:
    ///   - value: the object; anything else prints as compact JSON.
    ///   - leading: keys to show first, in this order; the rest follow sorted.
    static func printObject(_ value: JSONValue, leading: [String] = []) {
        guard case .object = value else {
            print(Self.json(value, pretty: false))
            return
        }
        var pairs: [(String, String)] = []
        Self.flatten(value, prefix: "", into: &pairs)
        let rank = Dictionary(leading.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let ordered = pairs.enumerated().sorted { lhs, rhs in
            let left = rank[lhs.element.0] ?? Int.max
            let right = rank[rhs.element.0] ?? Int.max
            return left != right ? left < right : lhs.offset < rhs.offset
        }
        Self.printBlock(ordered.map(\.element))
    }

    private static func flatten(_ value: JSONValue, prefix: String, into pairs: inout [(String, String)]) {
        if case .object(let members) = value, !members.isEmpty {
            for key in members.keys.sorted() {
                if let member = members[key] {
                    Self.flatten(member, prefix: prefix.isEmpty ? key : "\(prefix).\(key)", into: &pairs)
                }
            }
        } else if case .array(let items) = value, items.contains(where: { $0.isContainer }) {
            for (index, item) in items.enumerated() {
                Self.flatten(item, prefix: "\(prefix)[\(index)]", into: &pairs)
            }
            if items.isEmpty { pairs.append((prefix, "-")) }
        } else {
            pairs.append((prefix, Self.text(value)))
        }
    }

    // MARK: Paging

    /// Prints the hint for the next page when `result` has a non-null `next_cursor`.
    static func printNextPage(_ result: JSONValue) {
        if let cursor = result["next_cursor"]?.stringValue {
            print("\nmore: --cursor \(cursor)")
        }
    }
}

extension JSONValue {
    /// Whether this is an object or an array.
    var isContainer: Bool {
        switch self {
        case .object, .array: true
        default: false
        }
    }

    /// The items of a list answer: the array under the first of `keys` present (`items` when none given).
    func list(_ keys: String...) -> [JSONValue] {
        for key in keys + ["items"] {
            if let items = self[key]?.arrayValue { return items }
        }
        return []
    }
}
