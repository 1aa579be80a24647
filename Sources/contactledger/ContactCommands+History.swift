// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand.Contacts {
    /// The widest a one-line data summary gets in a table.
    static let summaryWidth = 80

    /// Who caused an event: its `actor`, else the peer's uid.
    static func actor(of event: JSONValue) -> String {
        if let actor = event["actor"]?.stringValue { return actor }
        if let uid = event["peer"]?["uid"]?.integerValue { return "uid \(uid)" }
        return "-"
    }

    /// An event's data on one line, or `(erased)` where erasure removed it.
    static func dataSummary(of event: JSONValue) -> String {
        event["erased"] == .bool(true) ? "(erased)" : Output.text(event["data"])
    }

    /// `contact history UUID`: `contacts.history`, as a timeline.
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shows a contact's timeline: every event with its seq, time, type, actor and data."
        )

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @Option(parsing: .unconditional, help: ArgumentHelp("Only events after this RFC 3339 time, date (its end, UTC) or seq (the event at it left out).", valueName: "at"))
        var after: PointInTime?

        @Option(parsing: .unconditional, help: ArgumentHelp("Only events up to this RFC 3339 time, date (its end, UTC) or seq (the event at it included).", valueName: "at"))
        var before: PointInTime?

        @Flag(
            name: .customLong("include-deleted"),
            help: "For a deleted contact, its erased timeline (types, times, actors, payload hashes) rather than an error."
        )
        var includeDeleted = false

        @Option(
            help: ArgumentHelp("Only events of this type, e.g. contact_name_changed (repeatable).", valueName: "type")
        )
        var type: [String] = []

        @OptionGroup var page: PageOptions
        @OptionGroup var global: GlobalOptions

        /// The timeline's columns.
        static let table = Table(columns: [
            .key("seq"),
            .key("created_on", "time"),
            .key("type"),
            .computed("actor", maxWidth: 30) { ContactLedgerCommand.Contacts.actor(of: $0) },
            .computed("data", maxWidth: ContactLedgerCommand.Contacts.summaryWidth) {
                ContactLedgerCommand.Contacts.dataSummary(of: $0)
            },
        ])

        func run() throws {
            var params: [String: JSONValue] = ["uuid": .string(self.uuid)]
            params["after"] = self.after?.jsonValue
            params["before"] = self.before?.jsonValue
            if !self.type.isEmpty { params["types"] = self.type.jsonValue }
            if self.includeDeleted { params["include_deleted"] = true }
            self.page.apply(to: &params)
            let result = try self.global.call("contacts.history", params)
            self.global.emit(result) { result in
                Self.table.print(result.list("events"), empty: "(no events)")
                Output.printNextPage(result)
            }
        }
    }

    /// `contact as-of UUID AT`: `contacts.as_of`.
    struct AsOf: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "as-of",
            abstract: "Shows a contact as it was at a point in time."
        )

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @Argument(help: ArgumentHelp("An RFC 3339 time (2026-11-25T09:30:00Z), a date (its end, UTC) or a seq number.", valueName: "at"))
        var at: PointInTime

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("contacts.as_of", ["uuid": .string(self.uuid), "at": self.at.jsonValue])
            self.global.emit(result, ContactLedgerCommand.Contacts.contactPrinter(self.global))
        }
    }

    /// `contact diff UUID FROM TO`: `contacts.diff`.
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shows what changed on a contact between two points in time."
        )

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @Argument(help: ArgumentHelp("The earlier point: an RFC 3339 time, a date (its end, UTC) or a seq number.", valueName: "from"))
        var from: PointInTime

        @Argument(help: ArgumentHelp("The later point: an RFC 3339 time, a date (its end, UTC) or a seq number.", valueName: "to"))
        var to: PointInTime

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let params: [String: JSONValue] = [
                "uuid": .string(self.uuid), "from": self.from.jsonValue, "to": self.to.jsonValue,
            ]
            let result = try self.global.call("contacts.diff", params)
            self.global.emit(result) { result in
                guard case .object(let changes) = result["changes"] ?? .null, !changes.isEmpty else {
                    print("(no changes)")
                    return
                }
                let rows: [JSONValue] = changes.keys.sorted().map { property in
                    [
                        "property": .string(property),
                        "before": .string(Output.fieldText(changes[property]?["before"])),
                        "after": .string(Output.fieldText(changes[property]?["after"])),
                    ]
                }
                Table(columns: [.key("property"), .key("before", maxWidth: 50), .key("after", maxWidth: 50)])
                    .print(rows, empty: "(no changes)")
            }
        }
    }

    /// `contact messages UUID`: `contacts.messages`, newest first, paged.
    struct Messages: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists a contact's messages, newest first.")

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @OptionGroup var page: PageOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = ["uuid": .string(self.uuid)]
            self.page.apply(to: &params)
            let result = try self.global.call("contacts.messages", params)
            self.global.emit(result) { result in
                ContactLedgerCommand.messageTable.print(result.list("messages"), empty: "(no messages)")
                Output.printNextPage(result)
            }
        }
    }
}
