// ContactLedger — contact domain.
import Foundation
import JSONText

/// Decides which events a contact command produces (the `decide` step of event sourcing).
///
/// Pure: the outcome depends only on the command, the contact's current state and the
/// ``DecisionContext``. Every rule of a single contact lives here: URN normalization and uniqueness,
/// field parsing, status side effects on groups, the limits.
public enum ContactDecider {
    /// The longest name accepted.
    public static let maximumNameLength = 128
    /// The most URNs a contact may hold.
    public static let maximumURNs = 50
    /// The most URNs one request may list (§10, RapidPro's API), duplicates included.
    public static let maximumURNsPerRequest = 100

    /// Events creating a contact: `contact_created`, then one per field value and the group changes.
    public static func create(
        _ request: NewContact,
        uuid: ContactUUID,
        id: Int64,
        context: DecisionContext
    ) throws(ContactError) -> [LedgerEvent] {
        let name = try Self.validName(request.name, field: "name")
        let language = try Self.validLanguage(request.language, field: "language")
        let urns = try Self.normalizedURNs(request.urns, owner: uuid, field: "urns", context: context)
        // The limit is on the URNs the contact holds: a list naming one URN twice holds it once.
        guard urns.count <= Self.maximumURNs else {
            throw ContactError.limit(Self.maximumURNs, field: "urns", reason: "too_many_urns")
        }
        let created = ContactCreated(uuid: uuid, id: id, name: name, language: language, status: request.status, urns: urns)
        var contact = Contact(created: created, workspace: context.workspace.name, at: context.now, version: 1)
        var events: [LedgerEvent] = [.contactCreated(created)]
        // States before districts before wards, whatever order the request gave (a JSON object has none).
        let rank: (String) -> Int = { key in context.workspace.field(key)?.type.settingOrder ?? 0 }
        let fields = request.fields.enumerated().sorted { (rank($0.element.key), $0.offset) < (rank($1.element.key), $1.offset) }.map(\.element)
        for entry in fields {
            let value = entry.value.flatMap { $0.isEmpty ? nil : $0 }
            guard let value else {
                guard context.workspace.field(entry.key) != nil else {
                    throw ContactError.notFound("field", id: entry.key)
                }
                continue
            }
            if let event = try Self.fieldChange(key: entry.key, value: value, contact: contact, field: "fields.\(entry.key)", context: context) {
                contact.apply(event, at: context.now, version: contact.version + 1)
                events.append(event)
            }
        }
        if !request.groups.isEmpty {
            if let event = try Self.groupChange(.add, request.groups, contact: contact, field: "groups", context: context) {
                contact.apply(event, at: context.now, version: contact.version + 1)
                events.append(event)
            }
        }
        if let event = Self.reevaluatedGroups(contact, context: context) { events.append(event) }
        return events
    }

    /// Events applying `modifiers` to `contact`, atomically: the first refusal refuses them all.
    ///
    /// A modifier that changes nothing yields no event. A status modifier that makes the contact not
    /// active takes it out of every group at once; after all modifiers, group membership is re-evaluated:
    /// a contact that is not active leaves every group, an active one joins the smart groups it matches
    /// (manual memberships are never restored).
    public static func modify(
        _ contact: Contact,
        modifiers: [ContactModifier],
        context: DecisionContext,
        fieldPrefix: String = "modifiers"
    ) throws(ContactError) -> [LedgerEvent] {
        try Self.requireLive(contact)
        var contact = contact
        var events: [LedgerEvent] = []
        for (index, modifier) in modifiers.enumerated() {
            let path = "\(fieldPrefix)[\(index)]"
            guard let event = try Self.event(for: modifier, contact: contact, path: path, context: context) else { continue }
            contact.apply(event, at: context.now, version: contact.version + 1)
            events.append(event)
            // A contact that leaves `active` leaves every group there and then (goflow re-evaluates after
            // every modifier): a later modifier making it active again restores no manual group, as two
            // calls would not, and the log never shows it blocked in a group.
            if case .contactStatusChanged(let status) = event, status != .active, let groups = Self.reevaluatedGroups(contact, context: context) {
                contact.apply(groups, at: context.now, version: contact.version + 1)
                events.append(groups)
            }
        }
        if let event = Self.reevaluatedGroups(contact, context: context) { events.append(event) }
        return events
    }

    /// Refuses a deleted contact: it takes no modifiers.
    static func requireLive(_ contact: Contact) throws(ContactError) {
        guard !contact.isDeleted else { throw ContactError.notFound("contact", id: contact.uuid.rawValue, reason: "deleted") }
    }

    /// The event of one modifier on `contact` (nil when it changes nothing), without the smart-group
    /// re-evaluation ``modify(_:modifiers:context:fieldPrefix:)`` adds after the last one.
    static func event(
        for modifier: ContactModifier,
        contact: Contact,
        path: String,
        context: DecisionContext
    ) throws(ContactError) -> LedgerEvent? {
        switch modifier {
        case .name(let raw):
            let name = try Self.validName(raw, field: "\(path).name")
            // Code point for code point: a name changed to its other Unicode form is a change.
            let unchanged =
                switch (name, contact.name) {
                case (nil, nil): true
                case (let new?, let old?): new.isCodePointEqual(to: old)
                default: false
                }
            return unchanged ? nil : .contactNameChanged(name: name ?? "")
        case .language(let raw):
            let language = try Self.validLanguage(raw, field: "\(path).language")
            return language == contact.language ? nil : .contactLanguageChanged(language: language ?? "")
        case .status(let status):
            return status == contact.status ? nil : .contactStatusChanged(status: status)
        case .field(let key, let value):
            return try Self.fieldChange(key: key, value: value, contact: contact, field: "\(path).value", context: context)
        case .urns(let action, let raw):
            return try Self.urnChange(action, raw, contact: contact, path: path, context: context)
        case .groups(let action, let groups):
            return try Self.groupChange(action, groups, contact: contact, field: "\(path).groups", context: context)
        }
    }

    // MARK: - Attributes

    static func validName(_ raw: String?, field: String) throws(ContactError) -> String? {
        guard let raw else { return nil }
        let name = raw.trimmingWhitespaceAndNewlines()
        guard !name.isEmpty else { return nil }
        guard name.codePointCount <= Self.maximumNameLength else {
            throw ContactError.limit(Self.maximumNameLength, field: field, reason: "name_too_long")
        }
        guard !name.unicodeScalars.contains(where: { $0.value == 0 }) else {
            throw ContactError.invalid(field, "contains_nul")
        }
        return name
    }

    static func validLanguage(_ raw: String?, field: String) throws(ContactError) -> String? {
        guard let raw, !raw.isEmpty else { return nil }
        do {
            return try LanguageCode(raw).rawValue
        } catch {
            throw ContactError.invalid(field, error.code)
        }
    }

    // MARK: - Fields

    static func fieldChange(
        key: String,
        value raw: String?,
        contact: Contact,
        field: String,
        context: DecisionContext
    ) throws(ContactError) -> LedgerEvent? {
        let definition = try Self.definedField(key, value: raw, field: field, context: context)
        let reference = ContactFieldChanged.Field(key: key, name: definition.name)
        let current = contact.fields[key]
        guard let raw, !raw.isEmpty else {
            return current == nil ? nil : .contactFieldChanged(ContactFieldChanged(field: reference, value: nil))
        }
        let environment = FieldParsingEnvironment(
            fieldType: definition.type,
            timeZone: context.workspace.timeZone,
            dateFormat: context.workspace.dateFormat,
            now: context.now.date,
            locations: context.workspace.locations,
            currentState: Self.locationValue(of: contact, type: .state, in: context.workspace),
            currentDistrict: Self.locationValue(of: contact, type: .district, in: context.workspace),
            replacedDatetime: current?.datetime
        )
        // Parsed before comparing, as goflow's field modifier does: the same text can read otherwise now
        // (a district inside the contact's new state, a state once the locations are set, a date under
        // another date format), and only a value the same in text and every reading changes nothing. A
        // date without a time takes the replaced reading's time of day (goflow takes now's, so the same
        // date sent again, or a sheet imported again, changed every such value).
        let value = FieldValue.parse(raw, environment: environment)
        if let current, current.isSame(as: value) { return nil }
        return .contactFieldChanged(ContactFieldChanged(field: reference, value: value))
    }

    /// The definition of field `key`, refusing an undefined key and a value holding NUL, whatever contact
    /// it is for.
    static func definedField(_ key: String, value raw: String?, field: String, context: DecisionContext) throws(ContactError) -> FieldDefinition {
        guard let definition = context.workspace.field(key) else { throw ContactError.notFound("field", id: key) }
        if let raw, raw.unicodeScalars.contains(where: { $0.value == 0 }) { throw ContactError.invalid(field, "contains_nul") }
        return definition
    }

    /// The contact's current location value of `type`, from the first field of that type that has one.
    private static func locationValue(of contact: Contact, type: FieldType, in workspace: Workspace) -> String? {
        for definition in workspace.fields where definition.type == type {
            let value = contact.fields[definition.key.rawValue]
            switch type {
            case .state: if let state = value?.state { return state }
            case .district: if let district = value?.district { return district }
            default: return nil
            }
        }
        return nil
    }

    // MARK: - URNs

    /// Normalizes `raw` URNs with the workspace country, drops duplicates, and refuses any URN owned
    /// by another contact.
    static func normalizedURNs(
        _ raw: [String],
        owner: ContactUUID,
        field: String,
        context: DecisionContext
    ) throws(ContactError) -> [String] {
        try Self.requireURNCount(raw, field: field)
        var result: [String] = []
        var identities: Set<String> = []
        for (index, text) in raw.enumerated() {
            let urn = try Self.parsedURN(text, field: "\(field)[\(index)]", context: context)
            guard identities.insert(urn.identity).inserted else { continue }
            let current: ContactUUID?
            do {
                current = try context.lookup.owner(ofURN: urn.identity)
            } catch {
                throw ContactError(.invalidState, reason: "lookup_failed", field: "\(field)[\(index)]")
            }
            if let current, current != owner {
                throw ContactError(
                    .conflict,
                    reason: "urn_taken",
                    field: "\(field)[\(index)]",
                    details: ["index": .integer(Int64(index))]
                )
            }
            result.append(urn.description)
        }
        return result
    }

    /// Refuses more URNs in one request than ``maximumURNsPerRequest``.
    static func requireURNCount(_ raw: [String], field: String) throws(ContactError) {
        guard raw.count <= Self.maximumURNsPerRequest else {
            throw ContactError.limit(Self.maximumURNsPerRequest, field: field, reason: "too_many_urns")
        }
    }

    /// `text` normalized with the workspace's country, or the URN error naming `field`.
    static func parsedURN(_ text: String, field: String, context: DecisionContext) throws(ContactError) -> URN {
        do {
            return try context.normalizedURN(text)
        } catch {
            throw ContactError.urn(error, field: field)
        }
    }

    /// Refuses URN modifiers in an anonymous workspace, which shows no URN to change.
    static func requireURNsShown(path: String, context: DecisionContext) throws(ContactError) {
        if context.workspace.anonymous {
            throw ContactError(.invalidState, reason: "anonymous_workspace", field: "\(path).urns")
        }
    }

    private static func urnChange(
        _ action: ContactModifier.URNAction,
        _ raw: [String],
        contact: Contact,
        path: String,
        context: DecisionContext
    ) throws(ContactError) -> LedgerEvent? {
        try Self.requireURNsShown(path: path, context: context)
        let urns = try Self.normalizedURNs(raw, owner: contact.uuid, field: "\(path).urns", context: context)
        let identity = { (text: String) in (try? URN(stored: text))?.identity ?? text }
        var updated: [String]
        switch action {
        case .append:
            let existing = Set(contact.urns.map(identity))
            updated = contact.urns + urns.filter { !existing.contains(identity($0)) }
        case .remove:
            let removed = Set(urns.map(identity))
            updated = contact.urns.filter { !removed.contains(identity($0)) }
        case .set:
            // A URN that stays keeps its channel affinity unless the list gives it one (§2.4).
            let kept = Dictionary(contact.urns.map { (identity($0), $0) }, uniquingKeysWith: { first, _ in first })
            updated = urns.map { text in
                guard let current = kept[identity(text)], let new = try? URN(stored: text), new.channel == nil,
                    let old = try? URN(stored: current), let channel = old.channel
                else { return text }
                return new.withChannel(channel).description
            }
        }
        guard updated.count <= Self.maximumURNs else {
            throw ContactError.limit(Self.maximumURNs, field: "\(path).urns", reason: "too_many_urns")
        }
        // Code point for code point: a display changed to its other Unicode form is a change.
        let unchanged = updated.count == contact.urns.count && zip(updated, contact.urns).allSatisfy { $0.isCodePointEqual(to: $1) }
        return unchanged ? nil : .contactURNsChanged(urns: updated)
    }

    // MARK: - Groups

    private static func groupChange(
        _ action: ContactModifier.GroupAction,
        _ uuids: [GroupUUID],
        contact: Contact,
        field: String,
        context: DecisionContext
    ) throws(ContactError) -> LedgerEvent? {
        var added: [GroupReference] = []
        var removed: [GroupReference] = []
        for (index, uuid) in uuids.enumerated() {
            let group = try Self.manualGroup(uuid, field: "\(field)[\(index)]", context: context)
            let reference = GroupReference(uuid: uuid, name: group.name)
            switch action {
            case .add:
                guard contact.status == .active else {
                    throw ContactError(
                        .invalidState,
                        reason: "contact_not_active",
                        field: "\(field)[\(index)]",
                        details: ["status": .text(contact.status.rawValue)]
                    )
                }
                if !contact.groups.contains(uuid), !added.contains(reference) { added.append(reference) }
            case .remove:
                if contact.groups.contains(uuid), !removed.contains(reference) { removed.append(reference) }
            }
        }
        guard !added.isEmpty || !removed.isEmpty else { return nil }
        return .contactGroupsChanged(ContactGroupsChanged(groupsAdded: added, groupsRemoved: removed))
    }

    /// The manual group `uuid`, refusing an unknown group and a smart one (its members follow its query).
    static func manualGroup(_ uuid: GroupUUID, field: String, context: DecisionContext) throws(ContactError) -> Group {
        guard let group = context.workspace.group(uuid) else { throw ContactError.notFound("group", id: uuid.rawValue) }
        guard !group.isSmart else { throw ContactError(.invalidState, reason: "smart_group", field: field) }
        return group
    }

    /// The group changes that follow any modification: non-active contacts leave every group; active
    /// ones join matching smart groups and leave smart groups they no longer match.
    static func reevaluatedGroups(_ contact: Contact, context: DecisionContext) -> LedgerEvent? {
        let current = Set(contact.groups)
        var wanted = current
        if contact.status != .active {
            wanted = []
        } else {
            let matching = context.smartGroupsMatching(contact)
            for group in context.workspace.groups where group.isSmart {
                if matching.contains(group.uuid) { wanted.insert(group.uuid) } else { wanted.remove(group.uuid) }
            }
        }
        guard wanted != current else { return nil }
        let reference = { (uuid: GroupUUID) in
            GroupReference(uuid: uuid, name: context.workspace.group(uuid)?.name ?? "")
        }
        let added = contact.groups.isEmpty ? wanted.sorted().map(reference) : wanted.subtracting(current).sorted().map(reference)
        let removed = contact.groups.filter { !wanted.contains($0) }.map(reference)
        return .contactGroupsChanged(ContactGroupsChanged(groupsAdded: added, groupsRemoved: removed))
    }

    // MARK: - Deletion and messages

    /// Deleting requires a contact that is not active (archived, blocked or stopped).
    public static func delete(_ contact: Contact, context: DecisionContext) throws(ContactError) -> [LedgerEvent] {
        guard !contact.isDeleted else { throw ContactError.notFound("contact", id: contact.uuid.rawValue, reason: "deleted") }
        guard contact.status != .active else {
            throw ContactError(.invalidState, reason: "contact_active", details: ["status": .text(contact.status.rawValue)])
        }
        var events: [LedgerEvent] = []
        // Only active contacts hold groups, so this is a safety net for inconsistent states.
        if let event = Self.reevaluatedGroups(contact, context: context) { events.append(event) }
        events.append(.contactDeleted(ContactDeleted(uuid: contact.uuid, id: contact.id, status: contact.status)))
        return events
    }

    /// Events of an incoming message from a known contact: a stopped contact is re-activated first; a
    /// blocked contact's message is recorded archived.
    public static func receive(
        _ message: Message,
        contact: Contact,
        context: DecisionContext
    ) throws(ContactError) -> [LedgerEvent] {
        guard !contact.isDeleted else { throw ContactError.notFound("contact", id: contact.uuid.rawValue, reason: "deleted") }
        var contact = contact
        var events: [LedgerEvent] = []
        if contact.status == .stopped {
            let event = LedgerEvent.contactStatusChanged(status: .active)
            contact.apply(event, at: context.now, version: contact.version + 1)
            events.append(event)
            if let groups = Self.reevaluatedGroups(contact, context: context) {
                contact.apply(groups, at: context.now, version: contact.version + 1)
                events.append(groups)
            }
        }
        var message = message
        message.visibility = contact.status == .blocked ? .archived : .visible
        // Affinity: the URN a message arrives on moves to the front, with the channel it came through
        // (goflow `Contact.SetAffinity`); not for a blocked contact, whose message mailroom only archives.
        if contact.status != .blocked, let urn = message.urn, let index = contact.urnIdentities.firstIndex(of: urn) {
            var urns = contact.urns
            var arrived = urns.remove(at: index)
            if let stored = try? URN(stored: arrived) { arrived = Self.withAffinity(stored, channel: message.channel).description }
            urns.insert(arrived, at: 0)
            if urns != contact.urns {
                let event = LedgerEvent.contactURNsChanged(urns: urns)
                contact.apply(event, at: context.now, version: contact.version + 1)
                events.append(event)
            }
        }
        events.append(.messageReceived(message))
        // last_seen_on moved: smart groups on it may change.
        contact.apply(.messageReceived(message), at: context.now, version: contact.version + 1)
        if let groups = Self.reevaluatedGroups(contact, context: context) { events.append(groups) }
        return events
    }

    /// `urn` with the channel a message came through as its affinity (`?channel=…`); as it is without a
    /// channel, or with one a URN's query cannot hold as it is (only UUIDs and slugs are kept).
    public static func withAffinity(_ urn: URN, channel: String?) -> URN {
        guard let channel, (1...64).contains(channel.utf8.count),
            channel.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) })
        else { return urn }
        return urn.withChannel(channel)
    }

    /// Events of an outgoing message; refused for blocked, stopped and archived contacts. A message with no URN
    /// (its contact has none) is recorded as unsendable, `no_route`, as goflow records it.
    public static func send(_ message: Message, contact: Contact) throws(ContactError) -> [LedgerEvent] {
        guard !contact.isDeleted else { throw ContactError.notFound("contact", id: contact.uuid.rawValue, reason: "deleted") }
        guard contact.status == .active else {
            throw ContactError(
                .invalidState,
                reason: "contact_\(contact.status.rawValue)",
                details: ["status": .text(contact.status.rawValue)]
            )
        }
        var recorded = message
        if recorded.urn == nil { recorded.unsendableReason = .noRoute }
        return [.messageCreated(recorded)]
    }
}

