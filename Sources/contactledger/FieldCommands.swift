// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand {
    /// `field …`: the workspace's contact fields.
    struct Fields: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "field",
            abstract: "Creates, lists, changes and deletes contact fields.",
            subcommands: [Create.self, List.self, Update.self, Delete.self, Usage.self],
            aliases: ["fields"]
        )

        /// The columns of a field table.
        static let table = Table(columns: [
            .key("key"), .key("name"), .key("type"), .key("featured"), .key("priority"),
        ])

        /// Prints one field answer (`{key, name, type, featured, priority, seq?}`).
        static func printField(_ field: JSONValue) {
            Output.printObject(field, leading: ["key", "name", "type", "featured", "priority", "seq"])
        }
    }
}

extension ContactLedgerCommand.Fields {
    /// `field create KEY --type T [--name N]`: `fields.create`.
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Defines a new contact field.")

        @Argument(help: ArgumentHelp("The field's key (e.g. age).", valueName: "key"))
        var key: String

        @Option(help: ArgumentHelp("The type of its values.", valueName: "type"))
        var type: FieldTypeArgument

        @Option(help: ArgumentHelp("The display name (defaults to one derived from the key).", valueName: "name"))
        var name: String?

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = ["key": .string(self.key), "type": .string(self.type.rawValue)]
            params["name"] = self.name.map(JSONValue.string)
            self.idempotency.apply(to: &params)
            let result = try self.global.call("fields.create", params)
            self.global.emit(result, ContactLedgerCommand.Fields.printField)
        }
    }

    /// `field list`: `fields.list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists the workspace's contact fields.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("fields.list")
            self.global.emit(result) { result in
                ContactLedgerCommand.Fields.table.print(result.list("fields"), empty: "(no fields)")
            }
        }
    }

    /// `field update KEY …`: `fields.update`.
    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Changes a field's name, type, featured flag or priority."
        )

        @Argument(help: ArgumentHelp("The field's key.", valueName: "key"))
        var key: String

        @Option(help: ArgumentHelp("The new display name.", valueName: "name"))
        var name: String?

        @Option(help: ArgumentHelp("The new type.", valueName: "type"))
        var type: FieldTypeArgument?

        @Option(help: ArgumentHelp("Whether the field is featured (true or false).", valueName: "bool"))
        var featured: Bool?

        // Unconditional: `--priority -1` reaches validate(), not ArgumentParser's "Missing value".
        @Option(parsing: .unconditional, help: ArgumentHelp("The display priority (higher first).", valueName: "n"))
        var priority: Int?

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if self.name == nil, self.type == nil, self.featured == nil, self.priority == nil {
                throw ValidationError("Give at least one of --name, --type, --featured or --priority.")
            }
            // The daemon refuses a negative priority (-32602); said here, as the other numeric options are.
            if let priority = self.priority, priority < 0 {
                throw ValidationError("--priority must be 0 or more (higher shows first), not \(priority).")
            }
        }

        func run() throws {
            var params: [String: JSONValue] = ["key": .string(self.key)]
            params["name"] = self.name.map(JSONValue.string)
            params["type"] = self.type.map { JSONValue.string($0.rawValue) }
            params["featured"] = self.featured.map(JSONValue.bool)
            params["priority"] = self.priority.map { JSONValue.integer(Int64($0)) }
            self.idempotency.apply(to: &params)
            let result = try self.global.call("fields.update", params)
            self.global.emit(result, ContactLedgerCommand.Fields.printField)
        }
    }

    /// `field delete KEY`: `fields.delete`.
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deletes a field (refused while a smart group's query uses it)."
        )

        @Argument(help: ArgumentHelp("The field's key.", valueName: "key"))
        var key: String

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = ["key": .string(self.key)]
            self.idempotency.apply(to: &params)
            let result = try self.global.call("fields.delete", params)
            self.global.emit(result) { Output.printObject($0, leading: ["key", "seq"]) }
        }
    }

    /// `field usage KEY`: `fields.usage`.
    struct Usage: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists the smart groups whose queries use a field.")

        @Argument(help: ArgumentHelp("The field's key.", valueName: "key"))
        var key: String

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("fields.usage", ["key": .string(self.key)])
            self.global.emit(result) { result in
                // The groups come as {uuid, name}: no query, status or count columns of `-` beside them.
                let groups = result.list("groups")
                ContactLedgerCommand.Groups.table.keepingColumns(presentIn: groups).print(groups, empty: "(no groups use \(self.key))")
            }
        }
    }
}
