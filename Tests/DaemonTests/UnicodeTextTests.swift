// ContactLedger — daemon tests: text compared and folded as the reference implementations do (behaviour §5.5).
import Foundation
import RPC
import Testing

/// Text is compared code point for code point and lowercased by each code point's simple mapping (Go's
/// `strings.ToLower`), on every path a query takes: the indexes of a live search, the evaluation of a past
/// search (`as_of`) and of a smart group.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct UnicodeTextTests {
    static func names(_ answer: JSONValue) -> Set<String> {
        Set((answer["contacts"]?.arrayValue ?? []).compactMap { $0.string("name") })
    }

    /// The names `query` finds live, at the head with `as_of`, and in a smart group on it.
    static func found(_ daemon: DaemonHarness, _ query: String) throws -> (live: Set<String>, past: Set<String>, group: Int64?) {
        let live = Self.names(try daemon.call("contacts.search", ["query": .string(query)]))
        let head = try #require(try daemon.call("system.health").int("head_seq"))
        let past = Self.names(try daemon.call("contacts.search", ["query": .string(query), "as_of": ["seq": .integer(head)]]))
        let group = try #require(try daemon.call("groups.create", ["name": .string("g\(head)"), "query": .string(query)]).string("uuid"))
        return (live, past, try QueryAndGroupTests.waitUntilReady(daemon, group).int("count"))
    }

    @Test func precomposedAndDecomposedTextAreTwoTextsOnEveryPath() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "city", "type": "text"])
        try daemon.call("contacts.create", ["name": "Jos\u{E9} composed", "fields": ["city": "Z\u{FC}rich"]])
        try daemon.call("contacts.create", ["name": "Jose\u{301} decomposed", "fields": ["city": "Zu\u{308}rich"]])
        let composed: Set = ["Jos\u{E9} composed"]
        let decomposed: Set = ["Jose\u{301} decomposed"]
        for (query, expected) in [
            ("name ~ \"jos\u{E9}\"", composed), ("city = \"z\u{FC}rich\"", composed), ("city != \"z\u{FC}rich\"", decomposed),
            ("city = \"zu\u{308}rich\"", decomposed),
        ] {
            let found = try Self.found(daemon, query)
            #expect(found.live == expected, "\(query) live")
            #expect(found.past == expected, "\(query) as_of")
            #expect(found.group == Int64(expected.count), "\(query) smart group")
        }
    }

    @Test func aTurkishCapitalIFoldsToI() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "city", "type": "text"])
        let created = try daemon.call("contacts.create", ["name": "\u{130}brahim", "fields": ["city": "\u{130}zmir"], "urns": ["mailto:\u{130}nci@example.com"]])
        #expect(created["urns"]?.arrayValue?.first?.stringValue == "mailto:inci@example.com", "\(created)")
        for query in ["name ~ \"ibra\"", "city = \"izmir\"", "city = \"\u{130}ZM\u{130}R\""] {
            let found = try Self.found(daemon, query)
            #expect(found.live == ["\u{130}brahim"] && found.past == ["\u{130}brahim"] && found.group == 1, "\(query): \(found)")
        }
        #expect(Self.names(try daemon.call("contacts.search", ["query": "", "sort": "name"])) == ["\u{130}brahim"])
    }

    @Test func aChangeToTheOtherUnicodeFormIsAChange() throws {
        let daemon = try DaemonHarness()
        let created = try daemon.call("contacts.create", ["urns": ["telegram:1234#Jos\u{E9}"]])
        let uuid = try #require(created.string("uuid"))
        let changed = try ContactKit.modify(daemon, uuid, [ContactKit.urns("set", ["telegram:1234#Jose\u{301}"])])
        #expect(changed.int("version") == 2, "\(changed)")
        #expect(changed["urns"]?.arrayValue?.first?.stringValue?.unicodeScalars.elementsEqual("telegram:1234#Jose\u{301}".unicodeScalars) == true)
        try daemon.call("fields.create", ["key": "cite", "name": "Cite\u{301}", "type": "text"])
        let renamed = try daemon.call("fields.update", ["key": "cite", "name": "Cit\u{E9}"])
        #expect(renamed.string("name")?.unicodeScalars.elementsEqual("Cit\u{E9}".unicodeScalars) == true, "\(renamed)")
    }

    @Test func whiteSpaceIsUnicodeWhiteSpaceEverywhere() throws {
        let daemon = try DaemonHarness()
        // A zero-width space is no white space (Go's strings.TrimSpace keeps it); an ideographic space is.
        #expect(try daemon.call("groups.create", ["name": "\u{200B}Zero"]).string("name") == "\u{200B}Zero")
        #expect(try daemon.call("groups.create", ["name": "\u{FEFF}Bom"]).string("name") == "\u{FEFF}Bom")
        let spaced = try daemon.error("groups.create", ["name": "\u{3000}Wide"])
        #expect(spaced.code == -32602 && spaced.data("reason") == "surrounding_whitespace", "\(spaced)")
        let trimmed = try daemon.call("contacts.create", ["name": " \u{2003}Ann\u{3000}", "urns": ["ext:\u{2003}ann\u{85}"]])
        #expect(trimmed.string("name") == "Ann" && trimmed["urns"]?.arrayValue?.first?.stringValue == "ext:ann", "\(trimmed)")
        #expect(try daemon.call("contacts.create", ["name": "\u{200B}Bob"]).string("name") == "\u{200B}Bob")
    }
}
