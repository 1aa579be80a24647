// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import RPC

extension LedgerMethods {
    /// The longest message text accepted.
    static let maximumMessageLength = 10_000

    /// A message of `contact`, as the contract shows it.
    static func present(
        _ message: Message, of contact: ContactUUID, direction: String, createdOn: Timestamp, seq: UInt64?, presenter: ContactPresenter
    ) -> JSONValue {
        // The message's URN and text are the contact's personal data, though the object has no uuid.
        presenter.names(contact)
        var object: [String: JSONValue] = [
            "uuid": .string(message.uuid),
            "direction": .string(direction),
            "urn": message.urn.map { .string($0) } ?? .null,
            "text": .string(message.text),
            "created_on": .string(createdOn.description),
            "channel": message.channel.map { .string($0) } ?? .null,
        ]
        if let externalID = message.externalID { object["external_id"] = .string(externalID) }
        if let visibility = message.visibility { object["visibility"] = .string(visibility.rawValue) }
        if let reason = message.unsendableReason { object["unsendable_reason"] = .string(reason.rawValue) }
        if let seq { object["seq"] = .integer(Int64(seq)) }
        presenter.maskMessage(&object)
        return .object(object)
    }

    private static func checkText(_ text: String) throws {
        guard text.codePointCount <= Self.maximumMessageLength else {
            throw RPCError(code: -32006, message: "Limit exceeded", data: ["limit": .integer(Int64(Self.maximumMessageLength)), "field": "text"])
        }
    }

    func messagesReceive(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(ReceiveParams.self, call)
        try Self.checkText(params.text)
        // Absent, not empty, when there is none (the schema's minLength).
        if params.channel?.isEmpty == true { throw RPCError.invalidParams(field: "channel", reason: "empty") }
        if params.externalID?.isEmpty == true { throw RPCError.invalidParams(field: "external_id", reason: "empty") }
        let normalized = self.countryHints.prepare([params.urn], workspace: caller.workspace, includingNormalizedForms: true)
        // It reads contacts and URN owners only through `tx`: its index writes can follow its answer.
        return try await self.command(call, caller, defersProjection: true) { tx in
            let context = try self.decisionContext(tx, urnsNormalizedAhead: normalized)
            let urn = try Self.normalizedURN(params.urn, in: context, field: "urn")
            var created = false
            let uuid: ContactUUID
            if let owner = try tx.owner(ofURN: urn.identity) {
                uuid = owner
            } else {
                // An unknown URN creates a contact with no name that owns it.
                uuid = ContactUUID.random()
                let arrived = ContactDecider.withAffinity(urn, channel: params.channel)
                let events = try ContactDecider.create(NewContact(urns: [arrived.description]), uuid: uuid, id: try tx.nextContactID(), context: context)
                try tx.append(events, to: EventHeader.contactStream(uuid), expectedVersion: 0)
                created = true
            }
            let message = Message(
                uuid: UUID.random().lowercasedString, urn: urn.identity, text: params.text, channel: params.channel,
                externalID: params.externalID
            )
            let contact = try tx.contact(uuid)
            let events = try ContactDecider.receive(message, contact: contact, context: context)
            let headers = try tx.append(events, to: EventHeader.contactStream(uuid), expectedVersion: contact.version)
            let presenter = tx.presenter(context.workspace)
            var recorded = message
            if case .messageReceived(let final)? = events.last { recorded = final }
            return [
                "contact": presenter.present(try tx.contact(uuid)),
                "message": Self.present(recorded, of: uuid, direction: "in", createdOn: tx.now, seq: headers.last?.seq, presenter: presenter),
                "created_contact": .bool(created),
            ]
        }
    }

    func messagesSend(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(SendParams.self, call)
        let uuid = try Self.contactUUID(params.uuid)
        try Self.checkText(params.text)
        // A message received may carry no text (an attachment the channel kept); one sent has something to say.
        guard !params.text.isEmpty else { throw RPCError.invalidParams(field: "text", reason: "empty") }
        // It reads contacts and URN owners only through `tx`: its index writes can follow its answer.
        return try await self.command(call, caller, defersProjection: true) { tx in
            let contact = try tx.contact(uuid)
            let context = try tx.decisionContext()
            var urn = contact.urns.first.flatMap { try? URN(stored: $0).identity }
            if let requested = params.urn {
                let normalized = try Self.normalizedURN(requested, defaultCountry: context.workspace.defaultCountry, field: "urn")
                guard contact.urnIdentities.contains(normalized.identity) else { throw ContactError.invalid("urn", "not_a_contact_urn") }
                urn = normalized.identity
            }
            let message = Message(uuid: UUID.random().lowercasedString, urn: urn, text: params.text)
            let events = try ContactDecider.send(message, contact: contact)
            // A stale `expected_version` is refused with the actual one, as by every command on one contact.
            let headers = try tx.append(events, to: EventHeader.contactStream(uuid), expectedVersion: params.expectedVersion ?? contact.version)
            let presenter = tx.presenter(context.workspace)
            var recorded = message
            if case .messageCreated(let final)? = events.last { recorded = final }
            return ["message": Self.present(recorded, of: uuid, direction: "out", createdOn: tx.now, seq: headers.last?.seq, presenter: presenter)]
        }
    }

    func contactsMessages(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(MessagesParams.self, call)
        let uuid = try Self.contactUUID(params.uuid)
        let limit = try Self.limit(params.limit)
        let before = try Self.seqCursor(params.cursor)
        return try self.read { txn in
            let presenter = try self.presenter(caller.workspace, in: txn)
            _ = try self.liveContact(uuid, workspace: caller.workspace, in: txn)
            let page = try self.stores.projector(txn).contacts.messages(of: uuid, workspace: caller.workspace, before: before, limit: limit + 1, in: txn)
            let items = page.prefix(limit).map { entry in
                Self.present(
                    entry.message.message, of: uuid, direction: entry.message.direction.rawValue, createdOn: entry.message.createdOn,
                    seq: entry.seq, presenter: presenter
                )
            }
            let next: JSONValue = page.count > limit ? page.prefix(limit).last.map { .string(String($0.seq)) } ?? .null : .null
            return ["items": .array(items), "next_cursor": next]
        }
    }
}
