// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand.Contacts {
    /// `contact search QUERY`: `contacts.search`, paged.
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lists the contacts that match a query, a page at a time.",
            discussion: "Example: contactledger contact search 'age > 18 AND status = active' --sort -created_on"
        )

        @Argument(help: ArgumentHelp("The query, e.g. 'name ~ ben' (quote it for the shell).", valueName: "query"))
        var query: String

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "Sort by a property; prefix '-' for descending (e.g. -created_on).",
                valueName: "property"
            )
        )
        var sort: String?

        @Option(parsing: .unconditional, help: ArgumentHelp("Search the contacts as they were then: RFC 3339 time or a seq.", valueName: "at"))
        var asOf: PointInTime?

        @OptionGroup var page: PageOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = ["query": .string(self.query)]
            params["sort"] = self.sort.map(JSONValue.string)
            params["as_of"] = self.asOf?.jsonValue
            self.page.apply(to: &params)
            let result = try self.global.call("contacts.search", params)
            self.global.emit(result) { result in
                let display = FieldDisplay.load(self.global)
                ContactLedgerCommand.Contacts.table(featuring: display).print(result.list("contacts"), empty: "(no contacts match)")
                var footer: [String] = []
                if let total = result["total"] { footer.append("total: \(Output.text(total))") }
                if let normalized = result["query"]?.stringValue { footer.append("query: \(normalized)") }
                if !footer.isEmpty { print("\n" + footer.joined(separator: "   ")) }
                if let cursor = result["next_cursor"]?.stringValue { print("more: --cursor \(cursor)") }
            }
        }
    }

    /// `contact count QUERY`: `contacts.count`.
    struct Count: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Counts the contacts that match a query.")

        @Argument(help: ArgumentHelp("The query (quote it for the shell).", valueName: "query"))
        var query: String

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("contacts.count", ["query": .string(self.query)])
            self.global.emit(result) { print(Output.text($0["total"])) }
        }
    }

    /// `contact parse-query QUERY`: `contacts.parse_query`, a query checked and inspected without running it.
    struct ParseQuery: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "parse-query",
            abstract: "Checks a query: its normalized form and the attributes, fields, groups and URN schemes it uses.",
            discussion: """
                A query with an error fails with -32004 and where it is (position, length); allow_as_group says \
                whether a smart group may have the query.
                """
        )

        @Argument(help: ArgumentHelp("The query (quote it for the shell).", valueName: "query"))
        var query: String

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("contacts.parse_query", ["query": .string(self.query)])
            self.global.emit(result, Self.printInspection)
        }

        /// Prints a `contacts.parse_query` answer as a block: fields by key, groups by name.
        static func printInspection(_ result: JSONValue) {
            let names = { (key: String, member: String) -> String in
                Output.text(.array((result[key]?.arrayValue ?? []).map { $0[member] ?? .null }))
            }
            Output.printBlock([
                ("query", Output.text(result["query"])),
                ("attributes", Output.text(result["attributes"])),
                ("fields", names("fields", "key")),
                ("groups", names("groups", "name")),
                ("schemes", Output.text(result["schemes"])),
                ("allow_as_group", Output.text(result["allow_as_group"])),
            ])
        }
    }
}
