// ContactLedger — contact domain.
import Foundation
import JSONText

/// Who caused an event: the peer process's credentials on the socket.
public struct Peer: Sendable, Hashable, Codable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }
}

/// The envelope of a stored event without its payload and hashes; hashed into the chain.
public struct EventHeader: Sendable, Hashable, Codable {
    public var seq: UInt64
    public var id: String
    public var stream: String
    public var version: UInt64
    public var type: String
    public var schemaVersion: Int
    public var workspace: String
    public var createdOn: Timestamp
    public var actor: String?
    public var peer: Peer?
    public var idempotencyKey: String?

    public init(
        seq: UInt64, id: String, stream: String, version: UInt64, type: String, schemaVersion: Int,
        workspace: String, createdOn: Timestamp, actor: String?, peer: Peer?, idempotencyKey: String?
    ) {
        self.seq = seq
        self.id = id
        self.stream = stream
        self.version = version
        self.type = type
        self.schemaVersion = schemaVersion
        self.workspace = workspace
        self.createdOn = createdOn
        self.actor = actor
        self.peer = peer
        self.idempotencyKey = idempotencyKey
    }

    enum CodingKeys: String, CodingKey {
        case seq, id, stream, version, type, workspace, actor, peer
        case schemaVersion = "schema_version"
        case createdOn = "created_on"
        case idempotencyKey = "idempotency_key"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.seq, forKey: .seq)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.stream, forKey: .stream)
        try container.encode(self.version, forKey: .version)
        try container.encode(self.type, forKey: .type)
        try container.encode(self.schemaVersion, forKey: .schemaVersion)
        try container.encode(self.workspace, forKey: .workspace)
        try container.encode(self.createdOn, forKey: .createdOn)
        try container.encode(self.actor, forKey: .actor)
        try container.encode(self.peer, forKey: .peer)
        try container.encodeIfPresent(self.idempotencyKey, forKey: .idempotencyKey)
    }

    /// The stored bytes of this header: the JSON `JSONEncoder` writes with `.sortedKeys` and
    /// `.withoutEscapingSlashes`, written directly, since every append writes one (a test holds the two
    /// byte for byte equal).
    public func encoded() -> [UInt8] {
        var output = JSONTextOutput(capacity: 320)
        output.punctuation(UInt8(ascii: "{"))
        output.key("actor", first: true)
        if let actor = self.actor { output.string(actor) } else { output.null() }
        output.key("created_on")
        output.string(self.createdOn.description)
        output.key("id")
        output.string(self.id)
        if let key = self.idempotencyKey {
            output.key("idempotency_key")
            output.string(key)
        }
        output.key("peer")
        if let peer = self.peer {
            output.punctuation(UInt8(ascii: "{"))
            output.key("gid", first: true)
            output.integer(peer.gid)
            output.key("pid")
            output.integer(peer.pid)
            output.key("uid")
            output.integer(peer.uid)
            output.punctuation(UInt8(ascii: "}"))
        } else {
            output.null()
        }
        output.key("schema_version")
        output.integer(self.schemaVersion)
        output.key("seq")
        output.integer(self.seq)
        output.key("stream")
        output.string(self.stream)
        output.key("type")
        output.string(self.type)
        output.key("version")
        output.integer(self.version)
        output.key("workspace")
        output.string(self.workspace)
        output.punctuation(UInt8(ascii: "}"))
        return output.bytes
    }

    /// Decodes stored header bytes.
    public static func decode(_ bytes: [UInt8]) throws -> EventHeader {
        try JSONValueDecoder().decode(EventHeader.self, from: JSONTextParser.parse(bytes, fractions: .decimal))
    }

    /// What a contact's stream name starts with, before its UUID.
    private static let contactStreamPrefix = "contact/"
    /// The stream name of a contact.
    public static func contactStream(_ uuid: ContactUUID) -> String { Self.contactStreamPrefix + uuid.rawValue }
    /// The contact this event's stream names (the inverse of ``contactStream(_:)``); nil for other streams.
    public var contactUUID: ContactUUID? { ContactUUID(self.stream, after: Self.contactStreamPrefix) }
    /// The stream name of a workspace.
    public static func workspaceStream(_ workspace: String) -> String { "workspace/\(workspace)" }
}
