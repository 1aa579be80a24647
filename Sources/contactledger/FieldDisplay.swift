// ContactLedger — command-line client.
import Foundation
import RPC

/// How a table shows a contact's field values: as RapidPro displays them (§3.2), a datetime in the
/// workspace's date format, a number as its number, a location by its name; a value that does not parse
/// as its field's type counts as not set and shows empty.
struct FieldDisplay {
    /// A field: its key, type, and whether it is featured.
    struct Field {
        var key: String
        var type: String
        var isFeatured: Bool
    }

    /// The featured fields, in their order.
    var featured: [Field]
    /// Every field's type (featured or not), by key.
    var types: [String: String]
    /// The workspace's date format, e.g. `DD-MM-YYYY`.
    var dateFormat: String

    /// The workspace's fields (the featured ones in their order) and date format, as the daemon answers
    /// them; none if they cannot be read.
    static func load(_ global: GlobalOptions) -> FieldDisplay {
        let fields = ((try? global.call("fields.list"))?.list("fields") ?? []).compactMap { field -> Field? in
            guard let key = field["key"]?.stringValue else { return nil }
            return Field(key: key, type: field["type"]?.stringValue ?? "text", isFeatured: field["featured"] == .bool(true))
        }
        let types = Dictionary(fields.map { ($0.key, $0.type) }) { first, _ in first }
        let dateFormat = types.values.contains("datetime") ? (try? global.call("workspace.get"))?["date_format"]?.stringValue : nil
        return FieldDisplay(featured: fields.filter(\.isFeatured), types: types, dateFormat: dateFormat ?? "YYYY-MM-DD")
    }

    /// The value of the field `key` as displayed (``text(_:type:)``), or its text when the field's type is
    /// not known (its definition could not be read).
    func text(_ value: JSONValue?, key: String) -> String {
        guard let type = self.types[key] else { return Output.fieldText(value) }
        return self.text(value, type: type)
    }

    /// The value `{text, number?, datetime?, state?, …}` of a field of `type`, as displayed.
    func text(_ value: JSONValue?, type: String) -> String {
        guard let value else { return "" }
        switch type {
        case "number":
            return value["number"].map { Output.text($0) } ?? ""
        case "datetime":
            return value["datetime"]?.stringValue.map(self.date) ?? ""
        case "state", "district", "ward":
            // The path's last step: `Rwanda > Kigali City` is Kigali City.
            let path = value[type]?.stringValue ?? ""
            let name = path.range(of: " > ", options: .backwards).map { String(path[$0.upperBound...]) } ?? path
            return Output.printable(name)
        default:
            return Output.fieldText(value)
        }
    }

    /// An RFC 3339 time, already in the workspace's zone, as `20-12-2015 08:30` in its date format.
    private func date(_ rfc3339: String) -> String {
        let characters = Array(rfc3339)
        guard characters.count >= 16 else { return rfc3339 }
        let year = String(characters[0..<4]), month = String(characters[5..<7]), day = String(characters[8..<10])
        let time = String(characters[11..<16])
        let date =
            switch self.dateFormat {
            case "DD-MM-YYYY": "\(day)-\(month)-\(year)"
            case "MM-DD-YYYY": "\(month)-\(day)-\(year)"
            default: "\(year)-\(month)-\(day)"
            }
        return "\(date) \(time)"
    }
}
