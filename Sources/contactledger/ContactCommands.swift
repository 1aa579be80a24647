// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand {
    /// `contact …`: one contact's state, changes, history and messages, and contact queries.
    struct Contacts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "contact",
            abstract: "Creates, reads, changes, searches and audits contacts.",
            groupedSubcommands: [
                CommandGroup(
                    name: "State",
                    subcommands: [
                        Create.self, Get.self, Modify.self, BulkModify.self, Block.self, Stop.self, Archive.self,
                        Activate.self, Delete.self,
                    ]
                ),
                CommandGroup(name: "Queries", subcommands: [Search.self, Count.self, ParseQuery.self]),
                CommandGroup(name: "History", subcommands: [History.self, AsOf.self, Diff.self, Messages.self]),
            ],
            aliases: ["contacts"]
        )

        /// The columns of a contact table.
        static let table = Table(columns: [
            .key("uuid"),
            .computed("name", maxWidth: 30) { Contacts.displayName($0) },
            .key("status"),
            .key("urns", maxWidth: 40),
            .key("modified_on", "modified on"),
        ])

        /// The contact table with one more column per featured field (by priority), showing its value as
        /// displayed (``FieldDisplay``).
        static func table(featuring display: FieldDisplay) -> Table {
            var table = Self.table
            let extra = display.featured.map { field in
                Table.Column.computed(field.key, maxWidth: 24) { display.text($0["fields"]?[field.key], type: field.type) }
            }
            table.columns.insert(contentsOf: extra, at: max(table.columns.count - 1, 0))
            return table
        }

        /// The contact's name, or its `ref` where an anonymous workspace hides the name.
        static func displayName(_ contact: JSONValue) -> String {
            if let name = contact["name"]?.stringValue { return name }
            if let ref = contact["ref"]?.stringValue { return ref }
            return "-"
        }

        /// ``printContact(_:featuring:)`` with the workspace's featured fields, read only when the contact is
        /// printed for a person (not with `--json`).
        static func contactPrinter(_ global: GlobalOptions) -> (JSONValue) -> Void {
            { contact in Self.printContact(contact, featuring: FieldDisplay.load(global)) }
        }

        /// Prints a contact (plus a command's `seq`) as a key-value block: groups by name, URNs on one line,
        /// the featured fields first (at the top of the contact's page, §3.3), by priority, then the other
        /// fields by key, every one as displayed (§3.2).
        static func printContact(_ contact: JSONValue, featuring display: FieldDisplay) {
            guard case .object(let members) = contact else {
                Output.printObject(contact)
                return
            }
            var pairs: [(String, String)] = []
            var shown: Set<String> = ["fields", "groups"]
            func add(_ key: String) {
                guard let value = members[key] else { return }
                shown.insert(key)
                pairs.append((key, Output.text(value)))
            }
            for key in ["uuid", "id", "ref", "name", "language", "status", "urns"] { add(key) }
            if let groups = members["groups"]?.arrayValue {
                let names = groups.map { $0["name"]?.stringValue ?? Output.text($0["uuid"]) }
                pairs.append(("groups", names.isEmpty ? "-" : names.joined(separator: ", ")))
            }
            if case .object(let fields) = members["fields"] {
                let featured = display.featured.filter { fields[$0.key] != nil }
                for field in featured {
                    // A value that does not read as its field's type counts as not set (§3.2), shown as unset.
                    let shown = display.text(fields[field.key], type: field.type)
                    pairs.append(("fields.\(field.key)", shown.isEmpty ? "-" : shown))
                }
                let featuredKeys = Set(featured.map(\.key))
                for key in fields.keys.sorted() where !featuredKeys.contains(key) {
                    // As displayed too: the raw text showed a datetime as written (`2026-01-02T20:00:00Z`, not
                    // in the workspace's zone and format) and a number's spaces and zeros (` 0012.50`).
                    let shown = display.text(fields[key], key: key)
                    pairs.append(("fields.\(key)", shown.isEmpty ? "-" : shown))
                }
            }
            let trailing = ["created_on", "modified_on", "last_seen_on", "version", "seq"]
            for key in members.keys.sorted() where !shown.contains(key) && !trailing.contains(key) { add(key) }
            for key in trailing { add(key) }
            Output.printBlock(pairs)
        }

        /// Calls `contacts.modify` with `modifiers` and prints the contact it answers.
        static func modify(
            uuid: String,
            modifiers: [JSONValue],
            write: ContactWriteOptions,
            global: GlobalOptions
        ) throws {
            var params: [String: JSONValue] = ["uuid": .string(uuid), "modifiers": .array(modifiers)]
            write.apply(to: &params)
            let result = try global.call("contacts.modify", params)
            global.emit(result, Contacts.contactPrinter(global))
        }
    }
}

extension ContactLedgerCommand.Contacts {
    /// `contact create …`: `contacts.create`.
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Creates a contact.")

        @Option(help: ArgumentHelp("The contact's name.", valueName: "name"))
        var name: String?

        @Option(help: ArgumentHelp("The language, ISO 639-3 (e.g. eng).", valueName: "code"))
        var language: String?

        @Option(help: ArgumentHelp("The initial status (default active).", valueName: "status"))
        var status: ContactStatusArgument?

        @Option(help: ArgumentHelp("A URN, e.g. tel:+250788123123 (repeatable, first preferred).", valueName: "urn"))
        var urn: [String] = []

        @Option(help: ArgumentHelp("A field value as key=value (repeatable).", valueName: "key=value"))
        var field: [FieldAssignment] = []

        @Option(help: ArgumentHelp("The UUID of a group to join (repeatable).", valueName: "uuid"))
        var group: [String] = []

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = [:]
            params["name"] = self.name.map(JSONValue.string)
            params["language"] = self.language.map(JSONValue.string)
            params["status"] = self.status.map { JSONValue.string($0.rawValue) }
            if !self.urn.isEmpty { params["urns"] = self.urn.jsonValue }
            if !self.field.isEmpty {
                params["fields"] = .object(
                    Dictionary(self.field.map { ($0.key, $0.jsonValue) }, uniquingKeysWith: { _, last in last })
                )
            }
            if !self.group.isEmpty { params["groups"] = self.group.jsonValue }
            self.idempotency.apply(to: &params)
            let result = try self.global.call("contacts.create", params)
            self.global.emit(result, ContactLedgerCommand.Contacts.contactPrinter(self.global))
        }
    }

    /// `contact get UUID | --urn URN`: `contacts.get`.
    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Shows a contact, found by UUID or by URN.")

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String?

        @Option(help: ArgumentHelp("Find the contact by URN instead, e.g. tel:+250788123123.", valueName: "urn"))
        var urn: String?

        @OptionGroup var global: GlobalOptions

        func validate() throws {
            switch (self.uuid, self.urn) {
            case (nil, nil): throw ValidationError("Give the contact's UUID, or --urn URN.")
            case (.some, .some): throw ValidationError("Give the contact's UUID or --urn, not both.")
            default: break
            }
        }

        func run() throws {
            var params: [String: JSONValue] = [:]
            params["uuid"] = self.uuid.map(JSONValue.string)
            params["urn"] = self.urn.map(JSONValue.string)
            let result = try self.global.call("contacts.get", params)
            self.global.emit(result, ContactLedgerCommand.Contacts.contactPrinter(self.global))
        }
    }

    /// `contact modify UUID …`: `contacts.modify`, one modifier per option, applied atomically.
    struct Modify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Changes a contact; all the changes apply together or none do.",
            discussion: ModifierOptions.order
        )

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @OptionGroup var changes: ModifierOptions
        @OptionGroup var write: ContactWriteOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try ContactLedgerCommand.Contacts.modify(
                uuid: self.uuid,
                modifiers: self.changes.modifiers,
                write: self.write,
                global: self.global
            )
        }
    }

    /// The changes `contact modify` and `contact bulk-modify` make: one `contacts.modify` modifier per option.
    struct ModifierOptions: ParsableArguments {
        /// The order the options' modifiers apply in, for the commands' help.
        static let order = """
            Each option becomes one modifier, in this order: name, language, status, fields, URNs (set, or \
            remove then add), groups (remove then add). --field key= clears a field.
            """

        @Option(help: ArgumentHelp("The new name.", valueName: "name"))
        var name: String?

        @Option(help: ArgumentHelp("The new language, ISO 639-3.", valueName: "code"))
        var language: String?

        @Option(help: ArgumentHelp("The new status.", valueName: "status"))
        var status: ContactStatusArgument?

        @Option(
            help: ArgumentHelp("Set a field as key=value, or clear it with key= (repeatable).", valueName: "key=value")
        )
        var field: [FieldAssignment] = []

        @Option(help: ArgumentHelp("Add a URN (repeatable).", valueName: "urn"))
        var addUrn: [String] = []

        @Option(help: ArgumentHelp("Remove a URN (repeatable).", valueName: "urn"))
        var removeUrn: [String] = []

        @Option(
            help: ArgumentHelp("Replace all URNs with this comma-separated list ('' for none).", valueName: "urn,urn")
        )
        var setUrns: String?

        @Option(help: ArgumentHelp("Add the contact to a group by UUID (repeatable).", valueName: "uuid"))
        var addGroup: [String] = []

        @Option(help: ArgumentHelp("Remove the contact from a group by UUID (repeatable).", valueName: "uuid"))
        var removeGroup: [String] = []

        func validate() throws {
            if self.setUrns != nil, !self.addUrn.isEmpty || !self.removeUrn.isEmpty {
                throw ValidationError("--set-urns replaces every URN; don't combine it with --add-urn or --remove-urn.")
            }
            if self.modifiers.isEmpty {
                throw ValidationError(
                    "Nothing to change: give --name, --language, --status, --field, a URN or a group option."
                )
            }
        }

        /// The `modifiers` array the options describe.
        var modifiers: [JSONValue] {
            var modifiers: [JSONValue] = []
            if let name = self.name { modifiers.append(["type": "name", "name": .string(name)]) }
            if let language = self.language { modifiers.append(["type": "language", "language": .string(language)]) }
            if let status = self.status { modifiers.append(["type": "status", "status": .string(status.rawValue)]) }
            for field in self.field {
                modifiers.append(["type": "field", "field": .string(field.key), "value": field.jsonValue])
            }
            if let setUrns = self.setUrns {
                let urns = setUrns.split(separator: ",").map { $0.trimmingPrefixAndSuffixSpaces() }.filter {
                    !$0.isEmpty
                }
                modifiers.append(["type": "urns", "action": "set", "urns": urns.jsonValue])
            }
            if !self.removeUrn.isEmpty {
                modifiers.append(["type": "urns", "action": "remove", "urns": self.removeUrn.jsonValue])
            }
            if !self.addUrn.isEmpty {
                modifiers.append(["type": "urns", "action": "append", "urns": self.addUrn.jsonValue])
            }
            if !self.removeGroup.isEmpty {
                modifiers.append(["type": "groups", "action": "remove", "groups": self.removeGroup.jsonValue])
            }
            if !self.addGroup.isEmpty {
                modifiers.append(["type": "groups", "action": "add", "groups": self.addGroup.jsonValue])
            }
            return modifiers
        }
    }

    /// `contact delete UUID`: `contacts.delete`.
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erases a contact that is archived, blocked or stopped."
        )

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @OptionGroup var write: ContactWriteOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = ["uuid": .string(self.uuid)]
            self.write.apply(to: &params)
            let result = try self.global.call("contacts.delete", params)
            self.global.emit(result) { Output.printObject($0, leading: ["uuid", "seq"]) }
        }
    }
}

extension Substring {
    /// The text without leading and trailing spaces.
    func trimmingPrefixAndSuffixSpaces() -> String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
