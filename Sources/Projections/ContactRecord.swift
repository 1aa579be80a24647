// ContactLedger — read models.
import ContactDomain
import Foundation

/// The stored form of a contact in `rm.contacts` and `rm.snapshots`: a compact binary record.
///
/// Rebuilds decode and re-encode contacts millions of times; JSON with sorted keys cost most of a
/// replayed event (RFC 3339 timestamps formatted and parsed, UUIDs re-validated, dictionaries sorted).
/// The layout is pinned by ``Projector/version``: changing it must bump that version, so stored read
/// models are rebuilt instead of misread. Field values are written in key order, so equal contacts
/// give equal bytes (a rebuilt record equals the live one byte for byte).
///
/// Timestamps and datetimes are whole microseconds, as their JSON forms were, so a value reads back
/// exactly as it would have through JSON; numbers keep their decimal text.
enum ContactRecord {
    /// The first byte of every record, so a record from another layout is refused, not misread.
    private static let layout: UInt8 = 1

    private enum Flag {
        static let name: UInt8 = 1
        static let language: UInt8 = 2
        static let lastSeenOn: UInt8 = 4
        static let deleted: UInt8 = 8
    }

    private enum ValueFlag {
        static let number: UInt8 = 1
        static let datetime: UInt8 = 2
        static let state: UInt8 = 4
        static let district: UInt8 = 8
        static let ward: UInt8 = 16
    }

    static func encode(_ contact: Contact) -> [UInt8] {
        var writer = RecordWriter()
        writer.byte(Self.layout)
        writer.string(contact.uuid.rawValue)
        writer.signed(contact.id)
        writer.string(contact.workspace)
        var flags: UInt8 = 0
        if contact.name != nil { flags |= Flag.name }
        if contact.language != nil { flags |= Flag.language }
        if contact.lastSeenOn != nil { flags |= Flag.lastSeenOn }
        if contact.isDeleted { flags |= Flag.deleted }
        writer.byte(flags)
        if let name = contact.name { writer.string(name) }
        if let language = contact.language { writer.string(language) }
        writer.byte(Self.code(of: contact.status))
        writer.strings(contact.urns)
        writer.unsigned(UInt64(contact.fields.count))
        for key in contact.fields.keys.sorted() {
            guard let value = contact.fields[key] else { continue }
            writer.string(key)
            Self.encode(value, into: &writer)
        }
        writer.strings(contact.groups.map(\.rawValue))
        writer.signed(contact.createdOn.microseconds)
        writer.signed(contact.modifiedOn.microseconds)
        if let lastSeenOn = contact.lastSeenOn { writer.signed(lastSeenOn.microseconds) }
        writer.unsigned(contact.version)
        return writer.bytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(RecordFormatError) -> Contact {
        var reader = RecordReader(bytes)
        guard try reader.byte() == Self.layout, let uuid = ContactUUID(try reader.string()) else { throw RecordFormatError() }
        let id = try reader.signed()
        let workspace = try reader.string()
        let flags = try reader.byte()
        let name = flags & Flag.name != 0 ? try reader.string() : nil
        let language = flags & Flag.language != 0 ? try reader.string() : nil
        let status = try Self.status(coded: try reader.byte())
        let urns = try reader.strings()
        var fields: [String: FieldValue] = [:]
        let fieldCount = try reader.count()
        fields.reserveCapacity(fieldCount)
        for _ in 0..<fieldCount {
            let key = try reader.string()
            fields[key] = try Self.decodeValue(&reader)
        }
        var groups: [GroupUUID] = []
        for text in try reader.strings() {
            guard let group = GroupUUID(text) else { throw RecordFormatError() }
            groups.append(group)
        }
        let createdOn = Timestamp(microseconds: try reader.signed())
        let modifiedOn = Timestamp(microseconds: try reader.signed())
        let lastSeenOn = flags & Flag.lastSeenOn != 0 ? Timestamp(microseconds: try reader.signed()) : nil
        let version = try reader.unsigned()
        guard reader.isAtEnd else { throw RecordFormatError() }
        let created = ContactCreated(uuid: uuid, id: id, name: name, language: language, status: status, urns: urns)
        var contact = Contact(created: created, workspace: workspace, at: createdOn, version: version)
        contact.fields = fields
        contact.groups = groups
        contact.modifiedOn = modifiedOn
        contact.lastSeenOn = lastSeenOn
        contact.isDeleted = flags & Flag.deleted != 0
        return contact
    }

    static func decode(_ bytes: [UInt8]) throws(RecordFormatError) -> Contact {
        let decoded: Result<Contact, RecordFormatError> = bytes.withUnsafeBytes { buffer in Result { () throws(RecordFormatError) in try Self.decode(buffer) } }
        return try decoded.get()
    }

    private static func encode(_ value: FieldValue, into writer: inout RecordWriter) {
        var flags: UInt8 = 0
        if value.number != nil { flags |= ValueFlag.number }
        if value.datetime != nil { flags |= ValueFlag.datetime }
        if value.state != nil { flags |= ValueFlag.state }
        if value.district != nil { flags |= ValueFlag.district }
        if value.ward != nil { flags |= ValueFlag.ward }
        writer.byte(flags)
        writer.string(value.text)
        // The decimal's own text, as JSON carried it: exact for every Decimal.
        if let number = value.number { writer.string(number.description) }
        if let datetime = value.datetime { writer.signed(Timestamp(datetime).microseconds) }
        if let state = value.state { writer.string(state) }
        if let district = value.district { writer.string(district) }
        if let ward = value.ward { writer.string(ward) }
    }

    private static func decodeValue(_ reader: inout RecordReader) throws(RecordFormatError) -> FieldValue {
        let flags = try reader.byte()
        let text = try reader.string()
        var number: Decimal?
        if flags & ValueFlag.number != 0 {
            guard let parsed = Decimal(string: try reader.string()) else { throw RecordFormatError() }
            number = parsed
        }
        let datetime = flags & ValueFlag.datetime != 0 ? Timestamp(microseconds: try reader.signed()).date : nil
        let state = flags & ValueFlag.state != 0 ? try reader.string() : nil
        let district = flags & ValueFlag.district != 0 ? try reader.string() : nil
        let ward = flags & ValueFlag.ward != 0 ? try reader.string() : nil
        return FieldValue(text: text, number: number, datetime: datetime, state: state, district: district, ward: ward)
    }

    /// Status codes fixed here rather than taken from the enum's case order, which may change.
    private static func code(of status: ContactStatus) -> UInt8 {
        switch status {
        case .active: 0
        case .blocked: 1
        case .stopped: 2
        case .archived: 3
        }
    }

    private static func status(coded code: UInt8) throws(RecordFormatError) -> ContactStatus {
        switch code {
        case 0: .active
        case 1: .blocked
        case 2: .stopped
        case 3: .archived
        default: throw RecordFormatError()
        }
    }
}
