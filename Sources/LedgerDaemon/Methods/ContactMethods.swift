// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Projections
import RPC

extension LedgerMethods {
    /// The most contacts `contacts.bulk_modify` takes by UUID in one command.
    static let maximumBulkContacts = 1000

    func contactsCreate(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(ContactCreateParams.self, call)
        var status = ContactStatus.active
        if let raw = params.status {
            guard let parsed = ContactStatus(rawValue: raw) else { throw RPCError.invalidParams(field: "status", reason: "unknown_status") }
            status = parsed
        }
        let groups = try (params.groups ?? []).enumerated().map { try Self.groupUUID($1, field: "groups[\($0)]") }
        let fields = (params.fields ?? [:]).sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        let request = NewContact(
            name: params.name, language: params.language, status: status, urns: params.urns ?? [], fields: fields, groups: groups
        )
        let uuid = ContactUUID.random()
        let normalized = self.countryHints.prepare(request.urns, workspace: caller.workspace)
        // It reads contacts and URN owners only through `tx`: its index writes can follow its answer.
        return try await self.command(call, caller, defersProjection: true) { tx in
            let context = try self.decisionContext(tx, urnsNormalizedAhead: normalized)
            let events = try ContactDecider.create(request, uuid: uuid, id: try tx.nextContactID(), context: context)
            let contact = try tx.appendContact(events, of: uuid, from: nil, expectedVersion: 0)
            return tx.presenter(context.workspace).present(contact)
        }
    }

    func contactsGet(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(ContactGetParams.self, call)
        if params.uuid != nil, params.urn != nil { throw RPCError.invalidParams(field: "urn", reason: "uuid_and_urn_exclusive") }
        return try self.read { txn in
            let presenter = try self.presenter(caller.workspace, in: txn)
            let uuid: ContactUUID
            if let text = params.uuid {
                uuid = try Self.contactUUID(text)
            } else if let text = params.urn {
                let urn = try Self.normalizedURN(text, defaultCountry: presenter.workspace.defaultCountry, field: "urn")
                guard let owner = try self.stores.projector(txn).contacts.owner(ofURN: urn.identity, workspace: caller.workspace, in: txn) else {
                    throw ContactError(.notFound, reason: "not_found", details: ["kind": .text("contact"), "id": .text("urn")])
                }
                uuid = owner
            } else {
                throw RPCError.invalidParams(field: "uuid", reason: "required")
            }
            return presenter.present(try self.liveContact(uuid, workspace: caller.workspace, in: txn))
        }
    }

    /// A URN param normalized with the workspace country, or -32602 naming `field`.
    static func normalizedURN(_ text: String, defaultCountry: String?, field: String) throws -> URN {
        do {
            return try URN.normalized(text, defaultCountry: defaultCountry)
        } catch {
            throw ContactError.urn(error, field: field)
        }
    }

    /// `text` normalized under the context's workspace, through its prepared normalizations; or -32602
    /// naming `field`.
    static func normalizedURN(_ text: String, in context: DecisionContext, field: String) throws -> URN {
        do {
            return try context.normalizedURN(text)
        } catch {
            throw ContactError.urn(error, field: field)
        }
    }

    /// The contact, or -32001 (with `reason: "deleted"` for a tombstone).
    func liveContact(_ uuid: ContactUUID, workspace: String, in txn: Transaction) throws -> Contact {
        guard let contact = try self.stores.projector(txn).contacts.contact(uuid, workspace: workspace, in: txn) else {
            throw ContactError.notFound("contact", id: uuid.rawValue)
        }
        guard !contact.isDeleted else { throw ContactError.notFound("contact", id: uuid.rawValue, reason: "deleted") }
        return contact
    }

    /// Turns the wire modifiers into domain modifiers, naming the bad one.
    static func modifiers(_ raw: [ModifierParams]) throws -> [ContactModifier] {
        try raw.enumerated().map { index, modifier in
            let path = "modifiers[\(index)]"
            func required<T>(_ value: T?, _ member: String) throws -> T {
                guard let value else { throw RPCError.invalidParams(field: "\(path).\(member)", reason: "required") }
                return value
            }
            if let taken = ModifierParams.membersByType[modifier.type],
                let unknown = modifier.members.sorted().first(where: { !taken.contains($0) })
            {
                throw RPCError.invalidParams(field: "\(path).\(unknown)", reason: "unknown_member")
            }
            switch modifier.type {
            case "name":
                guard let name = modifier.name else { throw RPCError.invalidParams(field: "\(path).name", reason: "required") }
                return .name(name)
            case "language":
                guard let language = modifier.language else { throw RPCError.invalidParams(field: "\(path).language", reason: "required") }
                return .language(language)
            case "status":
                guard let status = ContactStatus(rawValue: try required(modifier.status, "status")) else {
                    throw RPCError.invalidParams(field: "\(path).status", reason: "unknown_status")
                }
                return .status(status)
            case "field":
                guard let value = modifier.value else { throw RPCError.invalidParams(field: "\(path).value", reason: "required") }
                return .field(key: try required(modifier.field, "field"), value: value)
            case "urns":
                guard let action = ContactModifier.URNAction(rawValue: try required(modifier.action, "action")) else {
                    throw RPCError.invalidParams(field: "\(path).action", reason: "unknown_action")
                }
                return .urns(action: action, urns: try required(modifier.urns, "urns"))
            case "groups":
                guard let action = ContactModifier.GroupAction(rawValue: try required(modifier.action, "action")) else {
                    throw RPCError.invalidParams(field: "\(path).action", reason: "unknown_action")
                }
                let groups = try required(modifier.groups, "groups").enumerated().map {
                    try Self.groupUUID($1, field: "\(path).groups[\($0)]")
                }
                return .groups(action: action, groups: groups)
            default:
                throw RPCError.invalidParams(field: "\(path).type", reason: "unknown_modifier")
            }
        }
    }

    func contactsModify(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(ContactModifyParams.self, call)
        let uuid = try Self.contactUUID(params.uuid)
        let modifiers = try Self.modifiers(params.modifiers)
        let urns = modifiers.flatMap { modifier -> [String] in
            if case .urns(_, let urns) = modifier { return urns }
            return []
        }
        let normalized = self.countryHints.prepare(urns, workspace: caller.workspace)
        // It reads contacts and URN owners only through `tx`: its index writes can follow its answer.
        return try await self.command(call, caller, defersProjection: true) { tx in
            let contact = try tx.contact(uuid)
            if let expected = params.expectedVersion, expected != contact.version {
                throw ContactError(.conflict, reason: "version_mismatch", field: "expected_version", details: ["actual_version": .integer(Int64(contact.version))])
            }
            let context = try self.decisionContext(tx, urnsNormalizedAhead: normalized)
            let events = try ContactDecider.modify(contact, modifiers: modifiers, context: context)
            let modified = try tx.appendContact(events, of: uuid, from: contact, expectedVersion: contact.version)
            return tx.presenter(context.workspace).present(modified)
        }
    }

    func contactsBulkModify(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(ContactBulkModifyParams.self, call)
        if params.query != nil, params.uuids != nil {
            throw RPCError.invalidParams(field: "query", reason: "query_and_uuids_exclusive")
        }
        var parsed: [ContactUUID]?
        if let rawUUIDs = params.uuids {
            guard rawUUIDs.count <= Self.maximumBulkContacts else {
                throw RPCError(code: -32006, message: "Limit exceeded", data: ["limit": .integer(Int64(Self.maximumBulkContacts)), "field": "uuids"])
            }
            parsed = try rawUUIDs.enumerated().map { try Self.contactUUID($1, field: "uuids[\($0)]") }
        } else if params.query == nil {
            throw RPCError.invalidParams(field: "uuids", reason: "required")
        }
        let given = parsed
        let modifiers = try Self.modifiers(params.modifiers)
        return try await self.command(call, caller, isBulk: true) { tx in
            let context = try tx.decisionContext()
            try ContactDecider.checkModifiers(modifiers, context: context)
            let uuids: [ContactUUID]
            if let given {
                uuids = given
            } else {
                let query = try Self.parseQuery(params.query ?? "", workspace: context.workspace)
                uuids = try self.matchingContacts(query, workspace: context.workspace, in: tx.txn).map(\.uuid)
            }
            var changed = 0
            // The contacts a group addition refuses for their status, all named at once (RapidPro's
            // "Non-active contacts cannot be added to groups: <uuids>"), rather than a refusal that leaves
            // the client to guess which of up to every contact of the workspace stood in the way.
            var notActive: [ContactUUID] = []
            var firstNotActive: ContactError?
            for uuid in Set(uuids).sorted() {
                let contact: Contact
                let events: [LedgerEvent]
                do {
                    contact = try tx.contact(uuid)
                    events = try ContactDecider.modify(contact, modifiers: modifiers, context: context)
                } catch let error as ContactError where error.reason == "contact_not_active" {
                    notActive.append(uuid)
                    firstNotActive = firstNotActive ?? error
                    continue
                } catch let error as ContactError {
                    throw error.naming(contacts: [uuid], count: 1)
                }
                if !events.isEmpty { changed += 1 }
                try tx.append(events, to: EventHeader.contactStream(uuid), expectedVersion: contact.version)
            }
            if let firstNotActive {
                throw firstNotActive.naming(contacts: notActive, count: notActive.count)
            }
            return ["matched": .integer(Int64(Set(uuids).count)), "changed": .integer(Int64(changed))]
        }
    }

    func contactsDelete(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(ContactUUIDParams.self, call)
        let uuid = try Self.contactUUID(params.uuid)
        return try await self.command(call, caller) { tx in
            let contact = try tx.contact(uuid)
            let events = try ContactDecider.delete(contact, context: try tx.decisionContext())
            let stream = EventHeader.contactStream(uuid)
            try tx.append(events, to: stream, expectedVersion: params.expectedVersion ?? contact.version)
            // Erase the personal data of the contact's past events; their hashes keep the chain whole.
            let erasedURNs = try PersonalDataErasure.erase(stream: stream, before: UInt64.max, stores: self.stores, in: tx.txn)
            // Row errors of imports quote URNs the contact held ("already taken by another contact").
            let urns = erasedURNs.union(contact.urns.map(PersonalDataErasure.identity))
            try ImportErrorErasure.mask(urns, workspace: caller.workspace, stores: self.stores, in: tx.txn)
            try self.ledger.eraseIdempotentAnswers(mentioning: uuid.rawValue, workspace: caller.workspace, in: tx.txn)
            return ["uuid": .string(uuid.rawValue)]
        }
    }
}
