// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import RPC

/// Renders stored log records as envelopes and timeline items.
enum EventPresenter {
    /// A decoded record: header, payload as JSON (nil once erased), hashes.
    struct Decoded {
        var header: EventHeader
        var data: JSONValue?
        var record: StoredEvent
    }

    /// Decodes a record; an event stored in an older schema is served upcast, in the current shape.
    /// `header` is the record's header when the caller decoded it already (to filter on it first).
    static func decode(_ record: StoredEvent, header decodedHeader: EventHeader? = nil) throws -> Decoded {
        var header = try decodedHeader ?? EventHeader.decode(record.header)
        var payload = record.payload
        let current = LedgerEvent.schemaVersion(of: header.type)
        if let stored = payload, header.schemaVersion < current {
            let event = try LedgerEvent.decode(type: header.type, schemaVersion: header.schemaVersion, data: stored)
            payload = try event.encodedData()
            header.schemaVersion = current
        }
        // Every digit a payload stored is served: read as doubles, a number field's
        // `12345678901234567890.123456789` came out of events, history and audits as `1.2345678901234567e+19`.
        let data = try payload.map { try JSONTextParser.parse($0, fractions: .decimalElseDouble) }
        return Decoded(header: header, data: data, record: record)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        // Not String(format:) per byte: that was 45% of an events.subscribe feed's CPU (two hashes an event).
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func peer(_ peer: Peer?) -> JSONValue {
        guard let peer else { return .null }
        return ["uid": .integer(Int64(peer.uid)), "gid": .integer(Int64(peer.gid)), "pid": .integer(Int64(peer.pid))]
    }

    /// The full envelope of the contract. `contactID`: see ``ContactPresenter/maskEventData(_:type:contactID:)``.
    static func envelope(_ event: Decoded, presenter: ContactPresenter, contactID: Int64?) -> JSONValue {
        var object: [String: JSONValue] = [
            "seq": .integer(Int64(event.header.seq)),
            "id": .string(event.header.id),
            "stream": .string(event.header.stream),
            "version": .integer(Int64(event.header.version)),
            "type": .string(event.header.type),
            "schema_version": .integer(Int64(event.header.schemaVersion)),
            "workspace": .string(event.header.workspace),
            "created_on": .string(event.header.createdOn.description),
            "actor": event.header.actor.map { .string($0) } ?? .null,
            "peer": Self.peer(event.header.peer),
            "data": event.data.map { presenter.maskEventData($0, type: event.header.type, contactID: contactID) } ?? .null,
            "hash": .string(Self.hex(event.record.hash)),
            "prev_hash": .string(Self.hex(event.record.prevHash)),
        ]
        if let key = event.header.idempotencyKey { object["idempotency_key"] = .string(key) }
        if event.data == nil { object["erased"] = true }
        return .object(object)
    }

    /// A timeline item `{seq, type, created_on, actor, peer, data}`; an erased one (`data` null) adds
    /// `erased: true` and the `payload_hash` the chain keeps of what was erased, so that an audit can tie
    /// a copy of the payload, held elsewhere, to the log. `contactID`: see
    /// ``ContactPresenter/maskEventData(_:type:contactID:)``.
    static func timelineItem(_ event: Decoded, presenter: ContactPresenter, contactID: Int64?) -> JSONValue {
        var item: [String: JSONValue] = [
            "seq": .integer(Int64(event.header.seq)),
            "type": .string(event.header.type),
            "created_on": .string(event.header.createdOn.description),
            "actor": event.header.actor.map { .string($0) } ?? .null,
            "peer": Self.peer(event.header.peer),
            "data": event.data.map { presenter.maskEventData($0, type: event.header.type, contactID: contactID) } ?? .null,
        ]
        if event.data == nil {
            item["erased"] = true
            item["payload_hash"] = .string(Self.hex(event.record.payloadHash))
        }
        return .object(item)
    }
}
