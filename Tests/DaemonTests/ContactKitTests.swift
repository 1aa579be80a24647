// ContactLedger — daemon tests: shared helpers for the contact-domain suites (no tests here).
import Foundation
import RPC
import Testing

/// Small helpers shared by the contact-domain suites (`Contact*`, `Message*`, `Deletion*`, `Anonymous*`,
/// `Workspace*`). Namespaced so they never clash with other suites' helpers.
enum ContactKit {
    /// A modifier list applied to one contact, answering the contact.
    @discardableResult
    static func modify(
        _ daemon: DaemonHarness,
        _ uuid: String,
        _ modifiers: [JSONValue],
        workspace: String = "main"
    ) throws -> JSONValue {
        try daemon.call("contacts.modify", ["uuid": .string(uuid), "modifiers": .array(modifiers), "workspace": .string(workspace)])
    }

    /// The error of a modify that must fail.
    static func modifyError(
        _ daemon: DaemonHarness,
        _ uuid: String,
        _ modifiers: [JSONValue],
        workspace: String = "main",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> RPCError {
        try daemon.error(
            "contacts.modify",
            ["uuid": .string(uuid), "modifiers": .array(modifiers), "workspace": .string(workspace)],
            sourceLocation: sourceLocation
        )
    }

    /// `contacts.get {uuid}`.
    static func get(_ daemon: DaemonHarness, _ uuid: String, workspace: String = "main") throws -> JSONValue {
        try daemon.call("contacts.get", ["uuid": .string(uuid), "workspace": .string(workspace)])
    }

    /// The log head.
    static func head(_ daemon: DaemonHarness) throws -> Int64 {
        try #require(try daemon.call("system.health").int("head_seq"))
    }

    /// A field modifier.
    static func field(_ key: String, _ value: String) -> JSONValue {
        ["type": "field", "field": .string(key), "value": .string(value)]
    }

    /// A status modifier.
    static func status(_ status: String) -> JSONValue { ["type": "status", "status": .string(status)] }

    /// A URN modifier.
    static func urns(_ action: String, _ urns: [String]) -> JSONValue {
        ["type": "urns", "action": .string(action), "urns": .array(urns.map { .string($0) })]
    }

    /// A groups modifier.
    static func groups(_ action: String, _ uuids: [String]) -> JSONValue {
        ["type": "groups", "action": .string(action), "groups": .array(uuids.map { .string($0) })]
    }

    /// The strings of an array value.
    static func strings(_ value: JSONValue?) -> [String] {
        value?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// The items of a paged answer.
    static func items(_ value: JSONValue) -> [JSONValue] { value["items"]?.arrayValue ?? [] }

    /// Every string anywhere in a JSON value (keys and leaves), for "does this answer leak X" scans.
    static func allStrings(_ value: JSONValue) -> [String] {
        switch value {
        case .string(let text): return [text]
        case .array(let values): return values.flatMap(allStrings)
        case .object(let members): return members.flatMap { [$0.key] + allStrings($0.value) }
        default: return []
        }
    }

    /// Whether any string in `value` contains `needle`.
    static func mentions(_ value: JSONValue, _ needle: String) -> Bool {
        allStrings(value).contains { $0.contains(needle) }
    }

    /// A JSON number as a Decimal (integers exactly, doubles through their shortest text).
    static func decimal(_ value: JSONValue?) -> Decimal? {
        switch value {
        case .integer(let integer)?: Decimal(integer)
        case .double(let double)?: Decimal(string: "\(double)")
        case .decimal(let decimal)?: decimal
        default: nil
        }
    }

    /// A JSON number as a Double.
    static func double(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let integer)?: Double(integer)
        case .double(let double)?: double
        case .decimal(let decimal)?: NSDecimalNumber(decimal: decimal).doubleValue
        default: nil
        }
    }

    /// Every item of a paged method's answers, following `next_cursor` from the first page to the last;
    /// `itemsKey` names the answer's list (`items`, or `contacts` for `contacts.search`).
    static func allPages(_ daemon: DaemonHarness, _ method: String, _ params: [String: JSONValue], itemsKey: String = "items") throws -> [JSONValue] {
        var result: [JSONValue] = []
        var cursor: JSONValue = .null
        repeat {
            var page = params
            page["limit"] = 1000
            if cursor != .null { page["cursor"] = cursor }
            let answer = try daemon.call(method, .object(page))
            result += answer[itemsKey]?.arrayValue ?? []
            cursor = answer["next_cursor"] ?? .null
        } while cursor != .null
        return result
    }

    /// Every event of the workspace through `events.read`, following cursors.
    static func allEvents(_ daemon: DaemonHarness, workspace: String = "main") throws -> [JSONValue] {
        try allPages(daemon, "events.read", ["workspace": .string(workspace)])
    }

    /// Every timeline item of a contact through `contacts.history`, following cursors.
    static func history(_ daemon: DaemonHarness, _ uuid: String, types: [String]? = nil, workspace: String = "main") throws -> [JSONValue] {
        var params: [String: JSONValue] = ["uuid": .string(uuid), "workspace": .string(workspace)]
        if let types { params["types"] = .array(types.map { .string($0) }) }
        return try allPages(daemon, "contacts.history", params)
    }

    /// The admin hierarchy fixture: Rwanda → Kigali City (alias Kigali) → Gasabo, Nyarugenge → wards;
    /// Eastern Province → Rwamagana.
    static let rwanda: JSONValue = [
        "name": "Rwanda",
        "children": [
            [
                "name": "Kigali City", "aliases": ["Kigali"],
                "children": [
                    ["name": "Gasabo", "children": [["name": "Kimironko"], ["name": "Remera"]]],
                    ["name": "Nyarugenge", "children": [["name": "Nyamirambo"], ["name": "Muhima"]]],
                ],
            ],
            [
                "name": "Eastern Province",
                "children": [["name": "Rwamagana", "children": [["name": "Muhazi"]]]],
            ],
        ],
    ]
}
