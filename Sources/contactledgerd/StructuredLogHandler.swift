// ContactLedger — daemon executable: structured log lines on stderr.
import Foundation
import LedgerDaemon
import Logging

/// A `LogHandler` writing one line per message to stderr, as logfmt or JSON, for journald and log shippers.
///
/// logfmt: `ts=2026-11-25T09:30:00.123Z level=info logger=contactledgerd msg="listening" rpc.socket_mode=660`;
/// JSON: `{"ts":"…","level":"info","logger":"contactledgerd","msg":"listening","rpc.socket_mode":"660"}`.
/// Metadata keys are sorted; nested metadata is flattened to dotted keys. Each line is written with one
/// `write(2)`, so lines from different threads do not interleave. What is logged is decided by the
/// callers, which pass ids and codes, never names, URNs or values.
struct StructuredLogHandler: LogHandler {
    let label: String
    let format: DaemonSettings.LogFormat
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", Self.timestamp()),
            ("level", event.level.rawValue),
            ("logger", self.label),
            ("msg", event.message.description),
        ]
        var merged = self.metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var flattened: [(String, String)] = []
        Self.flatten(merged, prefix: "", into: &flattened)
        fields += flattened.sorted { $0.0 < $1.0 }
        let line = self.format == .json ? Self.json(fields) : Self.logfmt(fields)
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    private static func flatten(_ metadata: Logger.Metadata, prefix: String, into fields: inout [(String, String)]) {
        for (key, value) in metadata {
            let name = prefix.isEmpty ? key : "\(prefix).\(key)"
            switch value {
            case .string(let text): fields.append((name, text))
            case .stringConvertible(let convertible): fields.append((name, convertible.description))
            case .dictionary(let nested): Self.flatten(nested, prefix: name, into: &fields)
            case .array(let items): fields.append((name, "[" + items.map(\.description).joined(separator: ",") + "]"))
            }
        }
    }

    /// `key=value` pairs; values with spaces, quotes, `=` or nothing at all are quoted.
    static func logfmt(_ fields: [(String, String)]) -> String {
        fields.map { key, value in
            // On scalars: as Swift characters, a quote followed by a combining mark is no quote.
            let isPlain = !value.isEmpty
                && !value.unicodeScalars.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.properties.isWhitespace })
            return isPlain ? "\(key)=\(value)" : "\(key)=\(Self.quote(value))"
        }.joined(separator: " ")
    }

    /// One JSON object; every value is a string.
    static func json(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(Self.quote($0.0)):\(Self.quote($0.1))" }.joined(separator: ",") + "}"
    }

    /// A JSON string literal (also valid in logfmt).
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// UTC, milliseconds: `2026-11-25T09:30:00.123Z`.
    private static func timestamp() -> String {
        let milliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(milliseconds % 1000)
        )
    }
}
