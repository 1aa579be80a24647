// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import RPC

/// Renders contacts and field values as the contract shows them, masking what an anonymous
/// workspace must not reveal.
///
/// A command takes its presenter from its transaction (``CommandTransaction/presenter(_:)``), which
/// records the contacts its answer names.
struct ContactPresenter {
    let workspace: Workspace
    let reference: AnonymousReference
    /// Where a command's presenter records the contacts it shows; nil outside commands.
    var naming: NamedContacts? = nil

    /// Records that the answer being built shows `uuid`'s data (a message of the contact, say).
    func names(_ uuid: ContactUUID) { self.naming?.record(uuid) }

    /// The contact object of the contract.
    func present(_ contact: Contact) -> JSONValue {
        self.names(contact.uuid)
        let anonymous = self.workspace.anonymous
        var fields: [String: JSONValue] = [:]
        for definition in self.workspace.fields {
            let key = definition.key.rawValue
            // A value that does not parse as its field's type counts as not set, and the API shows null
            // (behaviour reference §3.2); the ledger keeps its text, which reads again if the type changes.
            let value = contact.fields[key].flatMap { $0.isSet(for: definition.type, in: self.workspace.timeZone) ? $0 : nil }
            fields[key] = value.map { self.present($0) } ?? .null
        }
        let groups: [JSONValue] = contact.groups.compactMap { uuid in
            guard let group = self.workspace.group(uuid) else { return nil }
            return ["uuid": .string(uuid.rawValue), "name": .string(group.name)]
        }
        var object: [String: JSONValue] = [
            "uuid": .string(contact.uuid.rawValue),
            "id": .integer(contact.id),
            "name": contact.name.map { .string($0) } ?? .null,
            "language": contact.language.map { .string($0) } ?? .null,
            "status": .string(contact.status.rawValue),
            "urns": .array(contact.urns.map { .string($0) }),
            "groups": .array(groups),
            "fields": .object(fields),
            "created_on": .string(contact.createdOn.description),
            "modified_on": .string(contact.modifiedOn.description),
            "last_seen_on": contact.lastSeenOn.map { .string($0.description) } ?? .null,
            "version": .integer(Int64(contact.version)),
        ]
        if anonymous { self.maskContact(&object) }
        return .object(object)
    }

    /// Masks a contact object as an anonymous workspace shows it: its URN paths, and its `ref` in place
    /// of its name. Every contact object goes through it, live (``present(_:)``) or replayed
    /// (``maskAnswer(_:)``); masking one twice changes nothing.
    private func maskContact(_ object: inout [String: JSONValue]) {
        if case .array(let urns)? = object["urns"] {
            object["urns"] = .array(urns.map { $0.stringValue.map { .string(Self.mask($0)) } ?? $0 })
        }
        guard let id = object["id"]?.integerValue else { return }
        let ref = self.reference.encode(id)
        object["ref"] = .string(ref)
        object["name"] = .string(ref)
    }

    /// Masks a message object's URN, as an anonymous workspace shows it; live or replayed alike.
    func maskMessage(_ object: inout [String: JSONValue]) {
        guard self.workspace.anonymous, let urn = object["urn"]?.stringValue else { return }
        object["urn"] = .string(Self.mask(urn))
    }

    /// A smart group's query as the workspace shows it: in an anonymous workspace with every URN value
    /// masked (``ContactQuery/textMaskingURNValues(_:)``; `urns.tel = "********"`), or masked whole when it
    /// does not parse. A group made while the workspace was not anonymous keeps its query, and groups,
    /// their events and the answers that showed them would otherwise show the numbers it names.
    func presentQuery(_ text: String) -> String {
        self.workspace.anonymous ? ContactQuery.textMaskingURNValues(text) : text
    }

    /// A command's answer stored with its idempotency key, masked as the workspace is now: an answer
    /// kept before the workspace became anonymous shows its contacts, messages and group queries as a
    /// live one would. It finds the contact and message objects of the contract by their members (a
    /// contact has `uuid`, `id` and `urns`; a message `direction` and `urn`; a group a `query` text) at
    /// any depth; ids and `seq` stay as first answered.
    func maskAnswer(_ answer: JSONValue) -> JSONValue {
        guard self.workspace.anonymous else { return answer }
        switch answer {
        case .array(let items):
            return .array(items.map { self.maskAnswer($0) })
        case .object(let members):
            var object = members.mapValues { self.maskAnswer($0) }
            if object["uuid"] != nil, object["id"]?.integerValue != nil, case .array? = object["urns"] { self.maskContact(&object) }
            if object["direction"] != nil, object["urn"] != nil { self.maskMessage(&object) }
            if let query = object["query"]?.stringValue { object["query"] = .string(self.presentQuery(query)) }
            return .object(object)
        default:
            return answer
        }
    }

    /// A field value: `{text, number?, datetime?, state?, district?, ward?}`, datetimes in the
    /// workspace timezone.
    func present(_ value: FieldValue) -> JSONValue {
        var object: [String: JSONValue] = ["text": .string(value.text)]
        if let number = value.number { object["number"] = .decimal(number) }
        if let datetime = value.formattedDatetime(in: self.workspace.timeZone) { object["datetime"] = .string(datetime) }
        if let state = value.state { object["state"] = .string(state) }
        if let district = value.district { object["district"] = .string(district) }
        if let ward = value.ward { object["ward"] = .string(ward) }
        return .object(object)
    }

    /// `tel:+250788…` → `tel:********`.
    static func mask(_ urn: String) -> String { URN.masked(text: urn) }

    /// Masks what an anonymous workspace's answers must not show inside an event's `data`: URN paths,
    /// a contact's name (unless cleared), shown as its `ref` as a contact object shows it, and the URN
    /// values of a group's query (``presentQuery(_:)``). Field and group names are the workspace's, not
    /// personal data, and stay. `contactID` is the id of the contact whose stream the
    /// event is in, for events whose data does not carry it (`contact_name_changed`); without it the name
    /// is masked.
    func maskEventData(_ data: JSONValue, type: String, contactID: Int64?) -> JSONValue {
        guard self.workspace.anonymous, case .object(var members) = data else { return data }
        if case .array(let urns)? = members["urns"] {
            members["urns"] = .array(urns.map { $0.stringValue.map { .string(Self.mask($0)) } ?? $0 })
        }
        if case .object(var message)? = members["msg"], let urn = message["urn"]?.stringValue {
            message["urn"] = .string(Self.mask(urn))
            members["msg"] = .object(message)
        }
        // A name cleared ("") shows as cleared: the ref in its place read as a name set to the ref.
        if Self.contactNameEvents.contains(type), let name = members["name"]?.stringValue, !name.isEmpty {
            let id = members["id"]?.integerValue ?? contactID
            members["name"] = .string(id.map { self.reference.encode($0) } ?? URN.anonymousMask)
        }
        if Self.groupQueryEvents.contains(type), let query = members["query"]?.stringValue {
            members["query"] = .string(self.presentQuery(query))
        }
        return .object(members)
    }

    /// The events whose `name` is a contact's.
    static let contactNameEvents: Set<String> = ["contact_created", "contact_name_changed"]

    /// The events whose `query` is a smart group's.
    static let groupQueryEvents: Set<String> = ["group_created", "group_updated"]
}
