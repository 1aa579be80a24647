// ContactLedger — command-line client.
import ArgumentParser
import CLedgerSys
import Foundation
import RPC
import Synchronization

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

    /// Whether stdout is a terminal that should get colour (not when piped, nor with a non-empty `NO_COLOR`
    /// or `TERM=dumb`).
    static var isColourEnabled: Bool { Self.isColourTerminal(1) }

    /// Whether the descriptor is a terminal that should get colour (not with a non-empty `NO_COLOR` or
    /// `TERM=dumb`). An empty `NO_COLOR` counts as unset, as no-color.org says.
    private static func isColourTerminal(_ descriptor: Int32) -> Bool {
        let environment = ProcessInfo.processInfo.environment
        let isNoColourSet = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        return isatty(descriptor) == 1 && !isNoColourSet && environment["TERM"] != "dumb"
    }

    /// `text` in bold when colour is enabled, unchanged otherwise.
    static func bold(_ text: String) -> String {
        Self.isColourEnabled ? "\u{1B}[1m\(text)\u{1B}[0m" : text
    }

    // MARK: JSON

    /// `value` as JSON with sorted keys: pretty (indented, several lines) or compact (one line).
    ///
    /// The encoder escapes C0 controls (`\u001b`) but writes DEL, C1 controls, bidirectional formatting
    /// characters and the line and paragraph separators raw; those are escaped too
    /// (``escapingTerminalControls(_:)``), so `--json` on a terminal is as safe as a table.
    static func json(_ value: JSONValue, pretty: Bool) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "null" }
        return Self.escapingTerminalControls(String(decoding: data, as: UTF8.self))
    }

    /// JSON text with DEL and every C1 control (U+007F–U+009F), bidirectional formatting character and
    /// line or paragraph separator written as a `\uXXXX` escape: the same JSON, with the same values.
    ///
    /// Raw, a contact's U+009B (the 8-bit CSI) followed by `2J` cleared the screen of a terminal that obeys
    /// 8-bit controls, and a right-to-left override reversed the rest of the line; DEL is a control too
    /// (a table shows it as ␡). Outside strings JSON holds only printable ASCII and whitespace, so each
    /// one found is inside a string, where the escape stands for it.
    private static func escapingTerminalControls(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: Self.isEscapedInJSON) else { return json }
        var escaped = String.UnicodeScalarView()
        for scalar in json.unicodeScalars {
            guard Self.isEscapedInJSON(scalar) else {
                escaped.append(scalar)
                continue
            }
            let hex = String(scalar.value, radix: 16)
            escaped.append(contentsOf: ("\\u" + String(repeating: "0", count: max(4 - hex.count, 0)) + hex).unicodeScalars)
        }
        return String(escaped)
    }

    /// Whether `--json` output escapes `scalar` though the encoder does not (see ``json(_:pretty:)``).
    private static func isEscapedInJSON(_ scalar: Unicode.Scalar) -> Bool {
        (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029 || Self.isBidiControl(scalar)
    }

    /// Prints `value` as pretty JSON with sorted keys (the `--json` output).
    static func printJSON(_ value: JSONValue) {
        print(Self.json(value, pretty: true))
    }

    // MARK: Standard output

    /// Flushes stdout and fails when what was printed could not all be written (a full disk, a closed
    /// stdout): `print` does not say, and a command whose output was lost exited 0, so a script took the
    /// empty or cut file for the answer.
    ///
    /// - Throws: ``ArgumentParser/ExitCode/outputFailed`` (74) after printing
    ///   `error: cannot write the output (REASON)` on stderr.
    static func flushStandardOutput() throws(ExitCode) {
        let code = CLedgerSys_flushStandardOutput()
        guard code != 0 else { return }
        // Said once: `tail` says it after an event, and the check at exit finds the same failure.
        if !Self.outputFailureReported.exchange(true, ordering: .relaxed) {
            Self.printError(": cannot write the output (\(String(cString: strerror(code))))")
        }
        throw ExitCode.outputFailed
    }

    /// Whether ``flushStandardOutput()`` has said that the output could not be written.
    private static let outputFailureReported = Atomic<Bool>(false)

    /// Ends the process with ``ArgumentParser/ExitCode/outputFailed`` (74), saying so, when what was
    /// printed could not all be written; registered with `atexit`, so it sees every way out, the help and
    /// the version ArgumentParser prints and exits after included (they exited 0 with nothing written).
    static func exitIfOutputFailed() {
        do {
            try Self.flushStandardOutput()
        } catch {
            _exit(error.rawValue)
        }
    }

    // MARK: Errors

    /// Prints one line to stderr, flushing stdout first so the two streams stay in order on a terminal.
    ///
    /// The line is made ``printable(_:)`` as a table cell is: a message may quote what the user or the
    /// data holds (a query with a newline or an escape), which made an error two lines, or sent the
    /// escape to the terminal.
    static func printError(_ line: String) {
        fflush(nil)
        let label = Self.isColourTerminal(2) ? "\u{1B}[31merror\u{1B}[0m" : "error"
        FileHandle.standardError.write(Data("\(label)\(Self.printable(line))\n".utf8))
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
        case .string(let string): return string.isEmpty ? "\"\"" : Self.printable(string)
        case .array(let items): return items.isEmpty ? "-" : items.map { Self.text($0) }.joined(separator: ", ")
        case .object: return Self.inline(value)
        default: return Self.json(value, pretty: false)  // numbers, in whatever representation JSONValue has
        }
    }

    /// A field value (`{text, number?, datetime?, …}`) as its text; any other value as ``text(_:)``.
    static func fieldText(_ value: JSONValue?) -> String {
        if let text = value?["text"]?.stringValue { return Self.printable(text) }
        return Self.text(value)
    }

    /// An object as `key=value key=value` (``leadingKeys`` first), anything else as compact JSON.
    static func inline(_ value: JSONValue) -> String {
        guard case .object(let members) = value else { return Self.json(value, pretty: false) }
        return Self.orderedKeys(members.keys).compactMap { key in
            members[key].map { "\(key)=\(Self.inlineValue($0))" }
        }.joined(separator: " ")
    }

    /// `text` cut to `width` terminal columns, ending in `…` when cut.
    static func truncate(_ text: String, to width: Int) -> String {
        guard width > 1, Self.columns(text) > width else { return text }
        var kept = ""
        var used = 0
        for character in text {
            let next = Self.columns(character)
            guard used + next <= width - 1 else { break }
            kept.append(character)
            used += next
        }
        return kept + "…"
    }

    /// `text` followed by spaces up to `width` terminal columns.
    static func pad(_ text: String, to width: Int) -> String {
        let used = Self.columns(text)
        return used >= width ? text : text + String(repeating: " ", count: width - used)
    }

    /// How many terminal columns `text` takes: two for each wide character (CJK, most emoji), one for the
    /// others; a combining mark or a joined emoji sequence is part of its character.
    static func columns(_ text: String) -> Int {
        text.reduce(0) { $0 + Self.columns($1) }
    }

    private static func columns(_ character: Character) -> Int {
        guard let first = character.unicodeScalars.first, !first.isASCII else { return 1 }
        if first.properties.isEmojiPresentation || character.unicodeScalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        // The C library's width of the first scalar, under a UTF-8 locale (without one it knows no widths):
        // 0 for a zero-width one (U+200B, U+FEFF, a joiner standing alone), which terminals do not advance
        // over (counted as 1, it shifted the rest of its row a column left); -1 (unprintable) as 1.
        guard Self.isUTF8LocaleSet else { return 1 }
        switch CLedgerSys_columnWidth(first.value) {
        case 2: return 2
        case 0: return 0
        default: return 1
        }
    }

    /// Sets the character-type locale to C.UTF-8 once, for `wcwidth`; nothing else the CLI does depends on it.
    private static let isUTF8LocaleSet: Bool = setlocale(LC_CTYPE, "C.UTF-8") != nil

    /// `text` made safe for one line of a terminal: line breaks (U+2028 and U+2029 too) shown as `⏎`, other
    /// control characters (escape sequences that would recolour or move the cursor, tabs) as their visible
    /// Control Pictures, C1 controls and bidirectional formatting characters as `�`.
    static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: Self.isControl) else { return text }
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).joined(separator: " ⏎ ")
        var shown = String.UnicodeScalarView()
        for scalar in lines.unicodeScalars {
            switch scalar.value {
            case 0x00...0x1F: shown.append(Unicode.Scalar(0x2400 + scalar.value) ?? "?")
            case 0x7F: shown.append("\u{2421}")
            case 0x80...0x9F: shown.append("\u{FFFD}")
            case _ where Self.isBidiControl(scalar): shown.append("\u{FFFD}")
            default: shown.append(scalar)
            }
        }
        return String(shown)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
            || Self.isBidiControl(scalar)
    }

    /// The bidirectional formatting characters: printed raw, a right-to-left override reversed the rest of
    /// the line on the terminal, and the table counted each as a column.
    private static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// Keys in display order: ``leadingKeys`` first, then the rest sorted.
    static func orderedKeys(_ keys: some Collection<String>) -> [String] {
        let leading = Self.leadingKeys.filter { keys.contains($0) }
        return leading + keys.filter { !Self.leadingKeys.contains($0) }.sorted()
    }

    /// A member's value after `key=`: a plain string as it is, anything else as compact JSON whose strings
    /// are made ``printable(_:)`` first. Quoting a name with a space as JSON wrote its control characters
    /// as escapes (`name="Ben\u001b[31mRed\nline"` in `tail` and the data column), not as the symbols a
    /// cell shows (`␛`, `⏎`).
    private static func inlineValue(_ value: JSONValue) -> String {
        switch value {
        case .string(let string):
            let isPlain = !string.isEmpty && !string.contains(where: { $0.isWhitespace || $0 == "=" || $0 == "\"" })
            return isPlain ? string : Self.json(.string(Self.printable(string)), pretty: false)
        default:
            return Self.json(Self.printableStrings(value), pretty: false)
        }
    }

    /// `value` with every string value in it made ``printable(_:)`` (keys are left as they are: two could
    /// become one).
    private static func printableStrings(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let string): .string(Self.printable(string))
        case .array(let items): .array(items.map(Self.printableStrings))
        case .object(let members): .object(members.mapValues(Self.printableStrings))
        default: value
        }
    }

    // MARK: Blocks

    /// Prints aligned `key  value` lines.
    static func printBlock(_ pairs: [(String, String)]) {
        let width = pairs.map { Self.columns($0.0) }.max() ?? 0
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
