// ContactLedger — contact domain.
import Foundation
import JSONText

/// Decides the events of workspace commands: settings, field definitions, groups, locations.
public enum WorkspaceDecider {
    /// Settings to change; nil members are left as they are.
    public struct Settings: Sendable, Hashable {
        public var defaultCountry: String??
        public var timezone: String?
        public var dateFormat: String?
        public var anonymous: Bool?
        public init(defaultCountry: String?? = nil, timezone: String? = nil, dateFormat: String? = nil, anonymous: Bool? = nil) {
            self.defaultCountry = defaultCountry
            self.timezone = timezone
            self.dateFormat = dateFormat
            self.anonymous = anonymous
        }
    }

    /// `workspace.configure`: validates each setting; yields no event when nothing changes.
    public static func configure(_ settings: Settings, workspace: Workspace) throws(ContactError) -> [LedgerEvent] {
        var change = WorkspaceConfigured()
        var changed = false
        if let country = settings.defaultCountry {
            var normalized: String?
            if let country, !country.isEmpty {
                do { normalized = try CountryCode(country).rawValue } catch { throw ContactError.invalid("default_country", error.code) }
            }
            if normalized != workspace.defaultCountry {
                change.defaultCountry = .some(normalized)
                changed = true
            }
        }
        if let timezone = settings.timezone {
            guard TimeZone(identifier: timezone) != nil else { throw ContactError.invalid("timezone", "unknown_timezone") }
            if timezone != workspace.timezone {
                change.timezone = timezone
                changed = true
            }
        }
        if let raw = settings.dateFormat {
            guard let format = DateFormat(rawValue: raw) else { throw ContactError.invalid("date_format", "unknown_date_format") }
            if format != workspace.dateFormat {
                change.dateFormat = format
                changed = true
            }
        }
        if let anonymous = settings.anonymous, anonymous != workspace.anonymous {
            change.anonymous = anonymous
            changed = true
        }
        return changed ? [.workspaceConfigured(change)] : []
    }

    /// `fields.create`: key rules, name rules (a name derived from the key when absent), uniqueness,
    /// the per-workspace limit.
    public static func createField(key rawKey: String, name rawName: String?, type rawType: String?, workspace: Workspace)
        throws(ContactError) -> [LedgerEvent]
    {
        let key: FieldKey
        do { key = try FieldKey(rawKey) } catch { throw Self.broken(error, field: "key") }
        let type = try Self.fieldType(rawType ?? "text", field: "type")
        let name = rawName ?? Self.name(fromKey: key.rawValue)
        do { try FieldDefinition.validateName(name) } catch { throw Self.broken(error, field: "name") }
        if workspace.field(key.rawValue) != nil {
            throw ContactError(.conflict, reason: "key_taken", field: "key")
        }
        if workspace.fields.contains(where: { $0.name.simpleLowercased() == name.simpleLowercased() }) {
            throw ContactError(.conflict, reason: "name_taken", field: "name")
        }
        guard workspace.fields.count < FieldDefinition.maxFieldsPerWorkspace else {
            throw ContactError.limit(FieldDefinition.maxFieldsPerWorkspace, field: "key", reason: "too_many_fields")
        }
        return [.fieldCreated(FieldCreated(key: key.rawValue, name: name, type: type))]
    }

    /// The error for a field rule that `field` broke: a length over its limit is -32006's "limit exceeded"
    /// with the limit, as every other value too long; any other rule is an invalid param.
    private static func broken(_ error: FieldRuleError, field: String) -> ContactError {
        if let limit = error.limit { return ContactError.limit(limit, field: field, reason: error.code.rawValue) }
        return ContactError.invalid(field, error.code.rawValue)
    }

    /// `fields.update`: only what changes is recorded.
    public static func updateField(
        key: String,
        name: String?,
        type rawType: String?,
        featured: Bool?,
        priority: Int?,
        workspace: Workspace
    ) throws(ContactError) -> [LedgerEvent] {
        guard let current = workspace.field(key) else { throw ContactError.notFound("field", id: key) }
        var update = FieldUpdated(key: key)
        if let name, !name.isCodePointEqual(to: current.name) {
            do { try FieldDefinition.validateName(name) } catch { throw Self.broken(error, field: "name") }
            if workspace.fields.contains(where: { $0.key != current.key && $0.name.simpleLowercased() == name.simpleLowercased() }) {
                throw ContactError(.conflict, reason: "name_taken", field: "name")
            }
            update.name = name
        }
        if let rawType {
            let type = try Self.fieldType(rawType, field: "type")
            if type != current.type { update.type = type }
        }
        if let featured, featured != current.featured { update.featured = featured }
        // Un-featuring gives back the priority, as saving RapidPro's featured list does (§3.3).
        let priority = priority ?? (update.featured == false ? 0 : nil)
        if let priority, priority != current.priority {
            guard priority >= 0 else { throw ContactError.invalid("priority", "negative") }
            update.priority = priority
        }
        let changed = update.name != nil || update.type != nil || update.featured != nil || update.priority != nil
        return changed ? [.fieldUpdated(update)] : []
    }

    /// `fields.delete`: refused while a smart group's query uses the field (`usedBy` names them).
    public static func deleteField(key: String, usedBy groups: [Group], workspace: Workspace) throws(ContactError) -> [LedgerEvent] {
        guard workspace.field(key) != nil else { throw ContactError.notFound("field", id: key) }
        guard groups.isEmpty else {
            throw ContactError(
                .invalidState,
                reason: "field_in_use",
                details: ["groups": .list(groups.map(\.uuid.rawValue))]
            )
        }
        return [.fieldDeleted(key: key)]
    }

    /// Checks a group name: ≤ 64 characters, no surrounding whitespace, no `"`, `\` or NUL, unique
    /// ignoring case (other than `except`).
    public static func validateGroupName(
        _ name: String, workspace: Workspace, except: GroupUUID? = nil, field: String = "name"
    ) throws(ContactError) {
        guard !name.isEmpty else { throw ContactError.invalid(field, "empty") }
        guard name.codePointCount <= Group.maximumNameLength else {
            throw ContactError.limit(Group.maximumNameLength, field: field, reason: "name_too_long")
        }
        guard name.trimmingWhitespaceAndNewlines() == name else {
            throw ContactError.invalid(field, "surrounding_whitespace")
        }
        // On scalars: as Swift characters, a quote followed by a combining mark is no quote.
        guard !name.unicodeScalars.contains(where: { $0 == "\"" || $0 == "\\" || $0.value == 0 }) else {
            throw ContactError.invalid(field, "invalid_character")
        }
        if let existing = workspace.group(named: name), existing.uuid != except {
            throw ContactError(.conflict, reason: "name_taken", field: field)
        }
    }

    /// `groups.create` for a manual group (`query` nil) or a smart group with an already-normalized query.
    public static func createGroup(uuid: GroupUUID, name: String, query: String?, workspace: Workspace) throws(ContactError) -> [LedgerEvent] {
        try Self.validateGroupName(name, workspace: workspace)
        try Self.checkRoomForGroup(workspace: workspace, field: "name")
        return [.groupCreated(GroupCreated(uuid: uuid, name: name, query: query))]
    }

    /// Refuses one more group where the workspace has ``Group/maximumPerWorkspace``: -32006
    /// `too_many_groups` with the limit, naming `field` (the param that asked for the new group).
    public static func checkRoomForGroup(workspace: Workspace, field: String) throws(ContactError) {
        guard workspace.groups.count < Group.maximumPerWorkspace else {
            throw ContactError.limit(Group.maximumPerWorkspace, field: field, reason: "too_many_groups")
        }
    }

    /// `workspace.set_locations`: the hierarchy must be a valid admin tree.
    public static func setLocations(_ root: LocationNode) throws(ContactError) -> [LedgerEvent] {
        do { _ = try LocationHierarchy(root: root) } catch {
            throw ContactError.invalid(error.path.isEmpty ? "hierarchy" : "hierarchy." + error.path, error.code.rawValue)
        }
        return [.locationsSet(hierarchy: root)]
    }

    private static func fieldType(_ raw: String, field: String) throws(ContactError) -> FieldType {
        guard let type = FieldType(rawValue: raw) else { throw ContactError.invalid(field, "unknown_type") }
        return type
    }

    /// "first_name" → "First Name".
    private static func name(fromKey key: String) -> String {
        key.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
    }
}
