// ContactLedger — JSON-RPC layer tests.
import Foundation
import RPC
import Testing

/// The params decoder against `JSONDecoder` on the same JSON: the same values, and errors of the same
/// kind at the same coding path.
struct JSONValueDecoderTests {
    struct Modifier: Decodable, Equatable {
        var type: String
        var value: String??
        var urns: [String]?

        enum CodingKeys: String, CodingKey { case type, value, urns }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.type = try container.decode(String.self, forKey: .type)
            self.value = container.contains(.value) ? .some(try container.decodeIfPresent(String.self, forKey: .value)) : nil
            self.urns = try container.decodeIfPresent([String].self, forKey: .urns)
        }
    }

    struct Params: Decodable, Equatable {
        var uuid: String
        var limit: Int?
        var afterSeq: UInt64?
        var ratio: Double?
        var amount: Decimal?
        var flag: Bool?
        var modifiers: [Modifier]?
        var extra: JSONValue?
        var nested: [String: [Int]]?

        enum CodingKeys: String, CodingKey {
            case uuid, limit, ratio, amount, flag, modifiers, extra, nested
            case afterSeq = "after_seq"
        }
    }

    /// What a decoding outcome comes down to: the value, or the error's kind and JSON path.
    enum Outcome: Equatable {
        case value(Params)
        case failure(kind: String, path: String)
    }

    static func outcome(_ body: () throws -> Params) -> Outcome {
        do {
            return .value(try body())
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, let context): return .failure(kind: "keyNotFound", path: Self.path(context.codingPath + [key]))
            case .typeMismatch(_, let context): return .failure(kind: "typeMismatch", path: Self.path(context.codingPath))
            case .valueNotFound(_, let context): return .failure(kind: "valueNotFound", path: Self.path(context.codingPath))
            case .dataCorrupted(let context): return .failure(kind: "dataCorrupted", path: Self.path(context.codingPath))
            @unknown default: return .failure(kind: "unknown", path: "")
            }
        } catch {
            return .failure(kind: "other", path: "")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }

    @Test(arguments: [
        #"{"uuid": "a"}"#,
        #"{"uuid": "a", "limit": 10, "after_seq": 9223372036854775807}"#,
        #"{"uuid": "a", "limit": 2.0, "ratio": 3, "amount": 0.1, "flag": true}"#,
        #"{"uuid": "a", "amount": 12345678901234, "extra": {"deep": [1, "x", null, {"y": false}]}}"#,
        #"{"uuid": "a", "modifiers": [{"type": "name", "value": null}, {"type": "field", "value": "v"}, {"type": "urns", "urns": ["tel:1"]}]}"#,
        #"{"uuid": "a", "nested": {"k": [1, 2, 3]}}"#,
        // Errors: each of kind and path.
        #"{}"#,
        #"{"uuid": null}"#,
        #"{"uuid": 5}"#,
        #"{"uuid": "a", "limit": "ten"}"#,
        #"{"uuid": "a", "flag": 1}"#,
        #"{"uuid": "a", "modifiers": {"type": "x"}}"#,
        #"{"uuid": "a", "modifiers": [{"type": "name"}, {"value": "v"}]}"#,
        #"{"uuid": "a", "modifiers": [{"type": "name", "value": 3}]}"#,
        #"{"uuid": "a", "modifiers": [{"type": "urns", "urns": ["a", 1]}]}"#,
        #"{"uuid": "a", "nested": {"k": [1, "2"]}}"#,
        #"[1, 2]"#,
        #""text""#,
    ])
    func agreesWithJSONDecoder(json: String) throws {
        let data = Data(json.utf8)
        let value = try JSONDecoder().decode(JSONValue.self, from: data)
        let expected = Self.outcome { try JSONDecoder().decode(Params.self, from: data) }
        let actual = Self.outcome { try JSONValueDecoder().decode(Params.self, from: value) }
        #expect(actual == expected, "\(json)")
    }

    /// Where a number does not fit, JSONDecoder's error has an empty coding path; this one names the member.
    @Test(arguments: [
        (#"{"uuid": "a", "limit": 1.5}"#, ".limit"),
        (#"{"uuid": "a", "limit": 1e30}"#, ".limit"),
        (#"{"uuid": "a", "after_seq": -1}"#, ".after_seq"),
        (#"{"uuid": "a", "nested": {"k": [1, 2.5]}}"#, ".nested.k[1]"),
    ])
    func numbersThatDoNotFitNameTheirMember(json: String, path: String) throws {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        let actual = Self.outcome { try JSONValueDecoder().decode(Params.self, from: value) }
        #expect(actual == .failure(kind: "dataCorrupted", path: path))
    }

    @Test func decodesJSONValueMembersAsTheyAre() throws {
        let value: JSONValue = ["uuid": "a", "extra": ["list": [1, "two", nil, true]]]
        let params = try JSONValueDecoder().decode(Params.self, from: value)
        #expect(params.extra == ["list": [1, "two", nil, true]])
    }
}
