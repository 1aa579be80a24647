// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import JSONText
import RPC

/// The order of `contacts.search` results and its keyset cursors.
///
/// `sort` is a property (`name`, `id`, `created_on`, `last_seen_on`, `modified_on`, `language`, or a
/// field key, `fields.` optional) with an optional `-` for descending; unset values come last; ties
/// break on id. A cursor holds the last item's sort value and id, so the next page starts right after
/// it even if contacts were added or removed in between.
struct SearchOrder {
    /// A comparable sort value.
    enum Value: Comparable {
        case text(String)
        case number(Decimal)
        case time(Int64)
    }

    /// The place of one contact in the order.
    struct Position {
        var value: Value?
        var id: Int64
    }

    /// An index that holds this order, so a page can be read from it in order (see `orderedPage`).
    enum IndexedKey: Equatable {
        /// Contact ids (`rm.contact_ids`).
        case id
        /// A number field's values.
        case number(field: String)
        /// A datetime field's values.
        case datetime(field: String)
    }

    let sort: String
    let descending: Bool
    /// The index holding this order, if one does.
    let indexedKey: IndexedKey?
    private let extract: (Contact) -> Value?

    init(_ sort: String, workspace: Workspace) throws {
        self.sort = sort
        self.descending = sort.hasPrefix("-")
        let key = String(self.descending ? sort.dropFirst() : Substring(sort)).lowercased()
        var indexedKey: IndexedKey?
        switch key {
        case "id":
            indexedKey = .id
            self.extract = { .number(Decimal($0.id)) }
        case "name": self.extract = { $0.name.map { .text($0.simpleLowercased()) } }
        case "language": self.extract = { $0.language.map { .text($0) } }
        case "created_on": self.extract = { .time($0.createdOn.microseconds) }
        case "last_seen_on": self.extract = { $0.lastSeenOn.map { .time($0.microseconds) } }
        case "modified_on": self.extract = { .time($0.modifiedOn.microseconds) }
        default:
            let fieldKey = key.hasPrefix("fields.") ? String(key.dropFirst(7)) : key
            guard let field = workspace.field(fieldKey) else {
                // goflow's text (behaviour reference §5.9), naming the key only when it has a key's
                // shape: an error never echoes what could be a value.
                let named = (try? FieldKey.validate(fieldKey)) != nil ? ": \(fieldKey)" : ""
                throw RPCError(code: -32602, message: "no such field with key\(named)", data: ["field": "sort", "reason": "unknown_sort_key"])
            }
            switch field.type {
            case .number: indexedKey = .number(field: fieldKey)
            case .datetime: indexedKey = .datetime(field: fieldKey)
            case .text, .state, .district, .ward: indexedKey = nil
            }
            let timeZone = workspace.timeZone
            self.extract = { contact in
                switch contact.fields[fieldKey]?.reading(for: field.type, in: timeZone) {
                case .text(let text): .text(text.simpleLowercased())
                case .number(let number): .number(number)
                case .datetime(let date): .time(Timestamp(date).microseconds)
                case .location(let path): .text(LocationHierarchy.name(ofPath: path).simpleLowercased())
                case nil: nil
                }
            }
        }
        self.indexedKey = indexedKey
    }

    func position(of contact: Contact) -> Position { Position(value: self.extract(contact), id: contact.id) }

    /// Whether `lhs` comes before `rhs`.
    func precedes(_ lhs: Position, _ rhs: Position) -> Bool {
        switch (lhs.value, rhs.value) {
        case (nil, nil): break
        case (nil, _): return false
        case (_, nil): return true
        case (let left?, let right?) where left != right: return self.descending ? left > right : left < right
        default: break
        }
        return self.descending ? lhs.id > rhs.id : lhs.id < rhs.id
    }

    /// `contacts` in this order.
    func sorted(_ contacts: [Contact]) -> [Contact] {
        contacts.map { (self.position(of: $0), $0) }.sorted { self.precedes($0.0, $1.0) }.map(\.1)
    }

    private struct CursorBody: Codable {
        var sort: String
        var kind: String
        var value: String
        var id: Int64
    }

    /// The cursor that resumes after `contact`.
    func cursor(after contact: Contact) -> String {
        let position = self.position(of: contact)
        let (kind, value): (String, String) =
            switch position.value {
            case .text(let text): ("t", text)
            case .number(let number): ("n", "\(number)")
            case .time(let micros): ("m", String(micros))
            case nil: ("-", "")
            }
        let body = CursorBody(sort: self.sort, kind: kind, value: value, id: position.id)
        // Sorted keys: the same position gives the same cursor in every run of the daemon.
        return Data((try? SortedKeysJSON.encode(body)) ?? []).base64EncodedString()
    }

    /// The position a cursor names; -32602 when it is not one of this order's cursors.
    func position(ofCursor cursor: String) throws -> Position {
        guard let data = Data(base64Encoded: cursor), let body = try? JSONDecoder().decode(CursorBody.self, from: data),
            body.sort == self.sort
        else { throw RPCError.invalidParams(field: "cursor", reason: "invalid_cursor") }
        let value: Value?
        switch body.kind {
        case "t": value = .text(body.value)
        case "n":
            guard let number = Decimal(string: body.value) else { throw RPCError.invalidParams(field: "cursor", reason: "invalid_cursor") }
            value = .number(number)
        case "m":
            guard let micros = Int64(body.value) else { throw RPCError.invalidParams(field: "cursor", reason: "invalid_cursor") }
            value = .time(micros)
        default: value = nil
        }
        return Position(value: value, id: body.id)
    }
}
