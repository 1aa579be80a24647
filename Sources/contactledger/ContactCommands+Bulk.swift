// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand.Contacts {
    /// `contact bulk-modify QUERY | --uuid UUID… …`: `contacts.bulk_modify`, the changes of `contact modify`
    /// made to every contact a query matches (or every one listed) in one atomic commit.
    struct BulkModify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bulk-modify",
            abstract: "Changes every contact a query matches, or those listed, in one commit: all of them or none.",
            discussion: """
                Give a query (quote it for the shell; '' matches every contact) or --uuid for each contact, \
                not both. Prints how many contacts matched and how many changed (a change a contact already \
                has appends nothing). \(ModifierOptions.order)

                Example: contactledger contact bulk-modify 'age >= 18' --add-group GROUP-UUID --field adult=yes
                """
        )

        @Argument(help: ArgumentHelp("The contacts to change: a query, e.g. 'age >= 18'.", valueName: "query"))
        var query: String?

        @Option(
            name: .customLong("uuid"),
            help: ArgumentHelp("A contact to change, instead of a query (repeatable).", valueName: "uuid")
        )
        var uuids: [String] = []

        @OptionGroup var changes: ModifierOptions
        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            switch (self.query, self.uuids.isEmpty) {
            case (nil, true): throw ValidationError("Give a query ('' for every contact), or --uuid for each contact.")
            case (.some, false): throw ValidationError("Give a query or --uuid, not both.")
            default: break
            }
        }

        func run() throws {
            var params: [String: JSONValue] = ["modifiers": .array(self.changes.modifiers)]
            params["query"] = self.query.map(JSONValue.string)
            if !self.uuids.isEmpty { params["uuids"] = self.uuids.jsonValue }
            self.idempotency.apply(to: &params)
            let result = try self.global.call("contacts.bulk_modify", params)
            self.global.emit(result) { Output.printObject($0, leading: ["matched", "changed", "seq"]) }
        }
    }
}
