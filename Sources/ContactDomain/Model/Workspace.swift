// ContactLedger — contact domain.
import Foundation
import JSONText

/// A workspace's settings, field definitions, groups and locations, as its events have made them.
public struct Workspace: Sendable, Hashable, Codable {
    /// The default workspace name.
    public static let defaultName = "main"

    public var name: String
    public var defaultCountry: String?
    public var timezone: String
    public var dateFormat: DateFormat
    public var anonymous: Bool
    /// Field definitions in creation order.
    public var fields: [FieldDefinition]
    public var groups: [Group]
    public var locations: LocationHierarchy?

    public init(name: String) {
        self.name = name
        self.defaultCountry = nil
        self.timezone = "UTC"
        self.dateFormat = .yearMonthDay
        self.anonymous = false
        self.fields = []
        self.groups = []
        self.locations = nil
    }

    enum CodingKeys: String, CodingKey {
        case name, timezone, anonymous, fields, groups, locations
        case defaultCountry = "default_country"
        case dateFormat = "date_format"
    }

    /// The workspace timezone (UTC if the stored name is unknown to this machine's tzdata).
    public var timeZone: TimeZone { TimeZone(identifier: self.timezone) ?? .gmt }

    /// The definition of field `key`, if any.
    public func field(_ key: String) -> FieldDefinition? {
        self.fields.first { $0.key.rawValue == key }
    }

    /// The group with `uuid`, if any.
    public func group(_ uuid: GroupUUID) -> Group? {
        self.groups.first { $0.uuid == uuid }
    }

    /// The group named `name`, ignoring case.
    public func group(named name: String) -> Group? {
        let folded = name.simpleLowercased()
        return self.groups.first { $0.name.simpleLowercased() == folded }
    }

    /// Applies one of the workspace's events (the `evolve` step).
    public mutating func apply(_ event: LedgerEvent, seq: UInt64) {
        switch event {
        case .workspaceConfigured(let change):
            if let country = change.defaultCountry { self.defaultCountry = country }
            if let timezone = change.timezone { self.timezone = timezone }
            if let dateFormat = change.dateFormat { self.dateFormat = dateFormat }
            if let anonymous = change.anonymous { self.anonymous = anonymous }
        case .fieldCreated(let created):
            guard let key = try? FieldKey(created.key) else { return }
            self.fields.append(FieldDefinition(key: key, name: created.name, type: created.type))
        case .fieldUpdated(let update):
            guard let index = self.fields.firstIndex(where: { $0.key.rawValue == update.key }) else { return }
            if let name = update.name { self.fields[index].name = name }
            if let type = update.type { self.fields[index].type = type }
            if let featured = update.featured { self.fields[index].featured = featured }
            if let priority = update.priority { self.fields[index].priority = priority }
        case .fieldDeleted(let key):
            self.fields.removeAll { $0.key.rawValue == key }
        case .groupCreated(let created):
            self.groups.append(Group(uuid: created.uuid, name: created.name, query: created.query, createdSeq: seq))
        case .groupUpdated(let update):
            guard let index = self.groups.firstIndex(where: { $0.uuid == update.uuid }) else { return }
            if let name = update.name { self.groups[index].name = name }
            if let query = update.query { self.groups[index].query = query }
        case .groupDeleted(let uuid):
            self.groups.removeAll { $0.uuid == uuid }
        case .locationsSet(let hierarchy):
            self.locations = try? LocationHierarchy(root: hierarchy)
        default:
            return
        }
    }
}
