// ContactLedger — contact domain.

/// A contact as its events have made it: the state the read model stores and answers show.
public struct Contact: Sendable, Hashable, Codable {
    public var uuid: ContactUUID
    public var id: Int64
    public var workspace: String
    public var name: String?
    public var language: String?
    public var status: ContactStatus
    /// Encoded URNs in priority order (first = preferred).
    public var urns: [String]
    /// Values by field key.
    public var fields: [String: FieldValue]
    /// Group memberships (names are looked up when answering, so renames show at once).
    public var groups: [GroupUUID]
    public var createdOn: Timestamp
    public var modifiedOn: Timestamp
    public var lastSeenOn: Timestamp?
    /// The stream version: how many events the contact has.
    public var version: UInt64
    /// Whether the contact has been deleted (a tombstone keeps only its UUID and id).
    public var isDeleted: Bool

    /// The contact a `contact_created` event describes.
    public init(created: ContactCreated, workspace: String, at time: Timestamp, version: UInt64) {
        self.uuid = created.uuid
        self.id = created.id
        self.workspace = workspace
        self.name = created.name
        self.language = created.language
        self.status = created.status
        self.urns = created.urns
        self.fields = [:]
        self.groups = []
        self.createdOn = time
        self.modifiedOn = time
        self.lastSeenOn = nil
        self.version = version
        self.isDeleted = false
    }

    enum CodingKeys: String, CodingKey {
        case uuid, id, workspace, name, language, status, urns, fields, groups, version
        case createdOn = "created_on"
        case modifiedOn = "modified_on"
        case lastSeenOn = "last_seen_on"
        case isDeleted = "deleted"
    }

    /// The URN identities (`scheme:path`) this contact owns.
    public var urnIdentities: [String] {
        self.urns.map { stored in
            // Without a query, a display or an escape, a stored URN is its identity: not parsed again.
            if !stored.containsURNSpecialCharacter { return stored }
            return (try? URN(stored: stored))?.identity ?? stored
        }
    }

    /// Applies one of this contact's events (the `evolve` step of event sourcing).
    ///
    /// Pure and deterministic, so the read model rebuilt from the log equals the live one.
    public mutating func apply(_ event: LedgerEvent, at time: Timestamp, version: UInt64) {
        self.version = version
        switch event {
        case .contactCreated(let created):
            self = Contact(created: created, workspace: self.workspace, at: time, version: version)
            return
        case .contactNameChanged(let name):
            self.name = name.isEmpty ? nil : name
        case .contactLanguageChanged(let language):
            self.language = language.isEmpty ? nil : language
        case .contactStatusChanged(let status):
            self.status = status
        case .contactFieldChanged(let change):
            self.fields[change.field.key] = change.value
        case .contactURNsChanged(let urns):
            self.urns = urns
        case .contactGroupsChanged(let change):
            let removed = Set((change.groupsRemoved ?? []).map(\.uuid))
            self.groups.removeAll { removed.contains($0) }
            for group in change.groupsAdded ?? [] where !self.groups.contains(group.uuid) {
                self.groups.append(group.uuid)
            }
        case .messageReceived:
            // last_seen_on only moves forward.
            if self.lastSeenOn.map({ $0 < time }) ?? true { self.lastSeenOn = time }
        case .messageCreated:
            return
        case .contactDeleted(let deleted):
            self.name = nil
            self.language = nil
            self.urns = []
            self.fields = [:]
            self.groups = []
            self.lastSeenOn = nil
            self.isDeleted = true
            // The tombstone keeps its ids and status, also when replayed from an erased log.
            if let id = deleted.id { self.id = id }
            if let status = deleted.status { self.status = status }
        case .workspaceConfigured, .fieldCreated, .fieldUpdated, .fieldDeleted, .groupCreated, .groupUpdated,
            .groupDeleted, .groupEvaluated, .locationsSet:
            return
        }
        self.modifiedOn = time
    }

    /// Applies one of its workspace's events that changes the workspace's contacts without an event of
    /// their own: a deleted field's value is dropped, and so is a deleted group's membership (which moves
    /// `modified_on`). The log keeps both. Returns whether the contact changed.
    public mutating func applyWorkspaceEvent(_ event: LedgerEvent, at time: Timestamp) -> Bool {
        switch event {
        case .fieldDeleted(let key):
            return self.fields.removeValue(forKey: key) != nil
        case .groupDeleted(let uuid):
            guard self.groups.contains(uuid) else { return false }
            self.groups.removeAll { $0 == uuid }
            self.modifiedOn = time
            return true
        default:
            return false
        }
    }

    /// Whether a workspace event may change its contacts (see ``applyWorkspaceEvent(_:at:)``): the
    /// others need not be offered to every contact.
    public static func isChanged(by event: LedgerEvent) -> Bool {
        switch event {
        case .fieldDeleted, .groupDeleted: true
        default: false
        }
    }
}
