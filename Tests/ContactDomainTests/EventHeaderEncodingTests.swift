// ContactLedger — contact domain tests.
import ContactDomain
import Foundation
import Testing

/// Event headers are written by hand for speed; they must stay the bytes `JSONEncoder` writes for the
/// same header (sorted keys, slashes unescaped), so stored logs read the same whichever wrote them.
struct EventHeaderEncodingTests {
    static let headers: [EventHeader] = [
        EventHeader(
            seq: 1, id: "0b8e6f3a-1f0e-4c55-9a53-2d1f6a1b7c11", stream: "contact/5d0f1c8e-33a4-4b6e-8f1c-0c7e4e0a9b21", version: 1,
            type: "contact_created", schemaVersion: 1, workspace: "default", createdOn: Timestamp(microseconds: 1_764_547_200_123_456),
            actor: nil, peer: nil, idempotencyKey: nil
        ),
        EventHeader(
            seq: 18_446_744_073_709_551_615, id: "x", stream: "workspace/ngo.main-1", version: 9_999_999_999, type: "field_created",
            schemaVersion: 2, workspace: "ngo.main-1", createdOn: Timestamp(microseconds: -62_135_596_800_000_000),
            actor: "ops/\"bob\" \\ é 日本 😀\n\t\u{1}", peer: Peer(uid: 0, gid: 4_294_967_295, pid: -1), idempotencyKey: "retry/1\u{7F}"
        ),
        EventHeader(
            seq: 42, id: "", stream: "", version: 0, type: "msg_received", schemaVersion: 0, workspace: "w",
            createdOn: Timestamp(microseconds: 0), actor: "", peer: Peer(uid: 1000, gid: 1000, pid: 31_337), idempotencyKey: ""
        ),
    ]

    @Test(arguments: headers)
    func writesWhatJSONEncoderWrites(_ header: EventHeader) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let foundation = Array(try encoder.encode(header))
        #expect(String(decoding: header.encoded(), as: UTF8.self) == String(decoding: foundation, as: UTF8.self))
        #expect(try EventHeader.decode(header.encoded()) == header)
    }
}
