// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand {
    /// `group …`: the workspace's groups.
    struct Groups: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "group",
            abstract: "Creates, lists, changes and deletes contact groups.",
            subcommands: [Create.self, List.self, Update.self, Members.self, Delete.self],
            aliases: ["groups"]
        )

        /// The columns of a group table.
        static let table = Table(columns: [
            .key("uuid"), .key("name", maxWidth: 40), .key("query", maxWidth: 50), .key("status"), .key("count"),
        ])

        /// Prints one group answer (`{uuid, name, query, status, count, seq?}`).
        static func printGroup(_ group: JSONValue) {
            Output.printObject(group, leading: ["uuid", "name", "query", "status", "count", "seq"])
        }
    }
}

extension ContactLedgerCommand.Groups {
    /// `group create NAME [--query Q]`: `groups.create`.
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Creates a group; with --query, a smart group whose members match it."
        )

        @Argument(help: ArgumentHelp("The group's name.", valueName: "name"))
        var name: String

        @Option(help: ArgumentHelp("The query that makes it a smart group (e.g. 'age > 18').", valueName: "query"))
        var query: String?

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = ["name": .string(self.name)]
            params["query"] = self.query.map(JSONValue.string)
            self.idempotency.apply(to: &params)
            let result = try self.global.call("groups.create", params)
            self.global.emit(result, ContactLedgerCommand.Groups.printGroup)
        }
    }

    /// `group list`: `groups.list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists the groups with their member counts.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("groups.list")
            self.global.emit(result) { result in
                ContactLedgerCommand.Groups.table.print(result.list("groups"), empty: "(no groups)")
            }
        }
    }

    /// `group update UUID [--name] [--query]`: `groups.update`.
    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Renames a group or changes its query.")

        @Argument(help: ArgumentHelp("The group's UUID.", valueName: "uuid"))
        var uuid: String

        @Option(help: ArgumentHelp("The new name.", valueName: "name"))
        var name: String?

        @Option(help: ArgumentHelp("The new query of a smart group.", valueName: "query"))
        var query: String?

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if self.name == nil, self.query == nil {
                throw ValidationError("Give --name, --query or both.")
            }
        }

        func run() throws {
            var params: [String: JSONValue] = ["uuid": .string(self.uuid)]
            params["name"] = self.name.map(JSONValue.string)
            params["query"] = self.query.map(JSONValue.string)
            self.idempotency.apply(to: &params)
            let result = try self.global.call("groups.update", params)
            self.global.emit(result, ContactLedgerCommand.Groups.printGroup)
        }
    }

    /// `group members UUID`: `groups.members`, paged.
    struct Members: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists a group's contacts, a page at a time.")

        @Argument(help: ArgumentHelp("The group's UUID.", valueName: "uuid"))
        var uuid: String

        @OptionGroup var page: PageOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = ["uuid": .string(self.uuid)]
            self.page.apply(to: &params)
            let result = try self.global.call("groups.members", params)
            self.global.emit(result) { result in
                ContactLedgerCommand.Contacts.table.print(result.list("contacts"), empty: "(no members)")
                Output.printNextPage(result)
            }
        }
    }

    /// `group delete UUID`: `groups.delete`.
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deletes a group (its contacts stay).")

        @Argument(help: ArgumentHelp("The group's UUID.", valueName: "uuid"))
        var uuid: String

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = ["uuid": .string(self.uuid)]
            self.idempotency.apply(to: &params)
            let result = try self.global.call("groups.delete", params)
            self.global.emit(result) { Output.printObject($0, leading: ["uuid", "seq"]) }
        }
    }
}
