// ContactLedger — contact domain.
import Foundation
import JSONText

/// A problem with one cell (or one record) of an import. Its message may quote the cell: it is for
/// the person importing, never for logs.
public struct ImportCellError: Sendable, Hashable, Codable {
    /// The 1-based sheet row.
    public var row: Int
    /// The header of the column, or nil when the whole record is at fault.
    public var column: String?
    public var message: String

    public init(row: Int, column: String?, message: String) {
        self.row = row
        self.column = column
        self.message = message
    }
}

/// What importing one record does.
public struct ImportOutcome: Sendable {
    public enum Result: Sendable, Hashable { case created, updated, failed }
    public var result: Result
    /// The events for the contact's stream (none when failed or when nothing changed).
    public var events: [LedgerEvent]
    public var errors: [ImportCellError]
}

/// Decides what each import record does to the contacts (behaviour reference §6.3): pure, like the
/// other deciders. Bad cells are reported and skipped; the rest of the record still applies.
public enum ImportDecider {
    /// The contact a record is about.
    public enum Target: Sendable, Hashable {
        /// Update this contact (it must exist: the caller checks and reports ``missingContact(_:)``).
        case existing(ContactUUID)
        case create
        case failed(ImportCellError)
    }

    /// Resolves the record: by UUID, else by the owners of its URNs (§2.5): one owner → it, none →
    /// a new contact, several or an invalid URN → the record fails, naming every URN of the record and,
    /// when the invalid URNs are all in one column, that column. (With a UUID, an invalid URN is an
    /// error inside the record, ``decide(_:contact:newUUID:newID:group:context:)``.)
    public static func target(of record: ImportRecord, context: DecisionContext) -> Target {
        if let text = record.uuid {
            guard let uuid = ContactUUID(text) else { return .failed(Self.missingContact(record)) }
            return .existing(uuid)
        }
        var owners: [ContactUUID] = []
        var invalidColumns: [String] = []
        for entry in record.urns {
            guard let urn = try? context.normalizedURN(entry.urn) else {
                if !invalidColumns.contains(entry.header) { invalidColumns.append(entry.header) }
                continue
            }
            guard let owner = try? context.lookup.owner(ofURN: urn.identity) else { continue }
            if !owners.contains(owner) { owners.append(owner) }
        }
        // §6.3: an invalid URN fails the record even beside a valid one, which would otherwise find or
        // create a contact that the row's other identity may belong to.
        if owners.count > 1 || !invalidColumns.isEmpty || record.urns.isEmpty {
            let identities = record.urns.map { entry in
                (try? context.normalizedURN(entry.urn).identity) ?? entry.urn
            }
            // Several owners are the record's fault, not a column's.
            let column = owners.count <= 1 && invalidColumns.count == 1 ? invalidColumns.first : nil
            return .failed(
                ImportCellError(row: record.row, column: column, message: "Unable to find or create contact with URNs \(identities.joined(separator: ", "))")
            )
        }
        return owners.first.map { .existing($0) } ?? .create
    }

    /// The error of a record whose UUID names no contact of the workspace.
    public static func missingContact(_ record: ImportRecord) -> ImportCellError {
        ImportCellError(row: record.row, column: record.headers[.uuid], message: "Unable to find contact with UUID '\(record.uuid ?? "")'")
    }

    /// The events of one record on `contact` (nil: create one with `uuid` and `id`), and its cell errors.
    ///
    /// - Parameter group: the manual group imported contacts join (only rows whose status is blank or
    ///   active, and only contacts left active).
    public static func decide(
        _ record: ImportRecord,
        contact existing: Contact?,
        newUUID uuid: ContactUUID,
        newID id: Int64,
        group: GroupUUID?,
        context: DecisionContext
    ) -> ImportOutcome {
        var errors: [ImportCellError] = []
        func report(_ column: String?, _ message: String) {
            errors.append(ImportCellError(row: record.row, column: column, message: message))
        }
        let workspace = context.workspace

        // URNs: valid ones not owned by another contact. An invalid one is reported here only for a record
        // matched by UUID: without one, ``target(of:context:)`` failed the record.
        var urns: [(header: String, urn: String)] = []
        var identities: Set<String> = []
        for entry in record.urns {
            guard let urn = try? context.normalizedURN(entry.urn) else {
                report(entry.header, "'\(entry.urn)' is not valid URN")
                continue
            }
            guard identities.insert(urn.identity).inserted else { continue }
            if let owner = try? context.lookup.owner(ofURN: urn.identity), owner != (existing?.uuid ?? uuid) {
                report(entry.header, "URN \(urn.identity) already taken by another contact")
                continue
            }
            urns.append((entry.header, urn.description))
        }

        // Creating: the contact with its name, language and URNs; the rest are modifiers on it.
        var events: [LedgerEvent] = []
        var contact: Contact
        if let existing {
            contact = existing
        } else {
            var name: String?
            if case .set(let raw) = record.name {
                name = try? ContactDecider.validName(raw.prefix(codePoints: ContactDecider.maximumNameLength), field: "name")
                if name == nil { report(record.headers[.name], "'\(raw)' is not a valid name") }
            }
            var language: String?
            if case .set(let raw) = record.language {
                language = try? ContactDecider.validLanguage(raw, field: "language")
                if language == nil { report(record.headers[.language], "'\(raw)' is not a valid language code") }
            }
            let kept = Array(urns.prefix(ContactDecider.maximumURNs))
            if urns.count > kept.count { report(nil, "Contact has too many URNs, limit is \(ContactDecider.maximumURNs)") }
            urns = []
            let request = NewContact(name: name, language: language, status: .active, urns: kept.map(\.urn), fields: [], groups: [])
            do {
                events = try ContactDecider.create(request, uuid: uuid, id: id, context: context)
            } catch {
                report(nil, Self.message(error, value: nil))
                return ImportOutcome(result: .failed, events: [], errors: errors)
            }
            guard case .contactCreated(let created) = events.first else {
                return ImportOutcome(result: .failed, events: [], errors: errors)
            }
            contact = Contact(created: created, workspace: workspace.name, at: context.now, version: 1)
            for event in events.dropFirst() { contact.apply(event, at: context.now, version: contact.version + 1) }
        }

        // Each modifier is tried alone, in order, on the contact as the earlier ones left it.
        var candidates: [(column: String?, value: String?, modifier: ContactModifier)] = []
        if existing != nil {
            let owned = Set(contact.urnIdentities)
            let missing = urns.filter { entry in !owned.contains((try? URN(stored: entry.urn).identity) ?? entry.urn) }
            if !missing.isEmpty { candidates.append((missing.first?.header, nil, .urns(action: .append, urns: missing.map(\.urn)))) }
            switch record.name {
            case .set(let raw): candidates.append((record.headers[.name], raw, .name(raw.prefix(codePoints: ContactDecider.maximumNameLength))))
            case .clear: candidates.append((record.headers[.name], nil, .name(nil)))
            case nil: break
            }
            switch record.language {
            case .set(let raw): candidates.append((record.headers[.language], raw, .language(raw)))
            case .clear: candidates.append((record.headers[.language], nil, .language(nil)))
            case nil: break
            }
        }
        let rank: (String) -> Int = { key in workspace.field(key)?.type.settingOrder ?? 0 }
        for field in record.fields.enumerated().sorted(by: { (rank($0.element.key), $0.offset) < (rank($1.element.key), $1.offset) }).map(\.element) {
            switch field.value {
            case .set(let text): candidates.append((field.header, text, .field(key: field.key, value: text)))
            case .clear: candidates.append((field.header, nil, .field(key: field.key, value: nil)))
            }
        }
        var joinsGroup = true
        var invalidStatus: String?
        if case .set(let raw) = record.status {
            if let status = ContactStatus(rawValue: raw) {
                if status != .active {
                    candidates.append((record.headers[.status], raw, .status(status)))
                    joinsGroup = false
                }
            } else {
                invalidStatus = raw
            }
        }

        // Each candidate's event is decided on the contact as the earlier ones left it; a refused one is
        // reported and skipped. The group join and the smart-group re-evaluation come last, once.
        var trial = contact
        var produced: [LedgerEvent] = []
        for candidate in candidates {
            do {
                try ContactDecider.requireLive(trial)
                guard let event = try ContactDecider.event(for: candidate.modifier, contact: trial, path: "modifiers[0]", context: context) else { continue }
                trial.apply(event, at: context.now, version: trial.version + 1)
                produced.append(event)
            } catch {
                if case .urns(_, let list) = candidate.modifier {
                    report(candidate.column, Self.message(error, value: list.joined(separator: ", ")))
                } else {
                    report(candidate.column, Self.message(error, value: candidate.value))
                }
            }
        }
        // Reported in the place of the status modifier, so a record's errors come in one order (URNs,
        // name, language, fields, status) whether it creates a contact or updates one.
        if let invalidStatus { report(record.headers[.status], "'\(invalidStatus)' is not a valid status") }
        var last: [ContactModifier] = []
        if joinsGroup, let group, trial.status == .active, !trial.groups.contains(group) {
            last.append(.groups(action: .add, groups: [group]))
        }
        do {
            events += produced + (try ContactDecider.modify(trial, modifiers: last, context: context))
        } catch where !last.isEmpty {
            // The join alone was refused: the record's other changes stand, as its other refused cells
            // leave the rest (§6.3: the record counts as created or updated, its errors listed). A group
            // deleted while the import runs is detached from it (§4.4): no error, the rows go on without it.
            if !Self.isDeletedGroup(error) { report(nil, Self.message(error, value: nil)) }
            events += produced + ((try? ContactDecider.modify(trial, modifiers: [], context: context)) ?? [])
        } catch {
            report(nil, Self.message(error, value: nil))
        }
        return ImportOutcome(result: existing == nil ? .created : .updated, events: events, errors: errors)
    }

    /// Whether `error` refuses a join because the group no longer exists.
    static func isDeletedGroup(_ error: ContactError) -> Bool {
        error.reason == "not_found" && error.details["kind"] == .text("group")
    }

    /// The message of a refused modifier.
    static func message(_ error: ContactError, value: String?) -> String {
        let quoted = value.map { "'\($0)'" } ?? "Value"
        switch error.reason {
        case "urn_taken": return "URN \(value ?? "") already taken by another contact"
        case "anonymous_workspace": return "Updating URNs not allowed for anonymous organizations"
        case "too_many_urns": return "Contact has too many URNs, limit is \(ContactDecider.maximumURNs)"
        case "contains_nul": return "\(quoted) contains a NUL character"
        case "name_too_long": return "\(quoted) is longer than \(ContactDecider.maximumNameLength) characters"
        case "not_found" where error.details["kind"] == .text("field"):
            if case .text(let key)? = error.details["id"] { return "'\(key)' is not a valid contact field key" }
            return "Not a valid contact field key"
        case "smart_group": return "Contacts can't be added to a smart group"
        case "contact_not_active": return "Only active contacts can join the import group"
        default:
            if error.field?.hasSuffix("language") == true { return "\(quoted) is not a valid language code" }
            return "\(quoted) is not valid (\(error.reason))"
        }
    }
}
