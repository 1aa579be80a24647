// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand {
    /// `workspace …`: the workspace's settings.
    struct Workspace: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "workspace",
            abstract: "Shows or changes the workspace's settings and location tree.",
            subcommands: [Get.self, Configure.self, Locations.self, SetLocations.self]
        )

        /// What each level of a location tree below the country holds, as its fields' types name them.
        static let locationLevels = ["states", "districts", "wards"]

        /// Prints a location tree, one place a line, each level indented two more spaces than its parent's,
        /// with its aliases after it.
        static func printLocations(_ node: JSONValue, depth: Int = 0) {
            var line = String(repeating: "  ", count: depth) + Output.text(node["name"])
            if let aliases = node["aliases"]?.arrayValue, !aliases.isEmpty {
                line += "  (also \(Output.text(.array(aliases))))"
            }
            print(line)
            for child in node["children"]?.arrayValue ?? [] { Self.printLocations(child, depth: depth + 1) }
        }

        /// How many places each level of `root` below it has: `states 2, districts 3, wards 5` as pairs.
        static func locationCounts(_ root: JSONValue) -> [(String, String)] {
            var level = root["children"]?.arrayValue ?? []
            return Self.locationLevels.map { name in
                defer { level = level.flatMap { $0["children"]?.arrayValue ?? [] } }
                return (name, String(level.count))
            }
        }
    }
}

extension ContactLedgerCommand.Workspace {
    /// `workspace get`: `workspace.get`.
    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Shows the workspace's settings and counts.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("workspace.get")
            self.global.emit(result) { Output.printObject($0) }
        }
    }

    /// `workspace configure`: `workspace.configure`.
    struct Configure: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Changes the workspace's country, timezone, date format or anonymity."
        )

        @Option(help: ArgumentHelp("The default country, ISO 3166-1 alpha-2 (e.g. RW).", valueName: "code"))
        var country: String?

        @Option(help: ArgumentHelp("The IANA timezone (e.g. Africa/Kigali).", valueName: "zone"))
        var timezone: String?

        @Option(help: ArgumentHelp("How dates are written: YYYY-MM-DD, DD-MM-YYYY or MM-DD-YYYY.", valueName: "format"))
        var dateFormat: String?

        @Option(help: ArgumentHelp("Whether answers mask URNs and names (true or false).", valueName: "bool"))
        var anonymous: Bool?

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if self.country == nil, self.timezone == nil, self.dateFormat == nil, self.anonymous == nil {
                throw ValidationError("Give at least one of --country, --timezone, --date-format or --anonymous.")
            }
        }

        func run() throws {
            var params: [String: JSONValue] = [:]
            params["default_country"] = self.country.map(JSONValue.string)
            params["timezone"] = self.timezone.map(JSONValue.string)
            params["date_format"] = self.dateFormat.map(JSONValue.string)
            params["anonymous"] = self.anonymous.map(JSONValue.bool)
            self.idempotency.apply(to: &params)
            let result = try self.global.call("workspace.configure", params)
            self.global.emit(result) { Output.printObject($0) }
        }
    }

    /// `workspace locations`: `workspace.locations`, the tree `state`, `district` and `ward` fields resolve against.
    struct Locations: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shows the workspace's location tree: country, states, districts and wards.",
            discussion: "With --json, the answer is what `workspace set-locations` reads back."
        )

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("workspace.locations")
            self.global.emit(result) { result in
                guard let root = result["hierarchy"], root != .null else {
                    print("(no locations set)")
                    return
                }
                ContactLedgerCommand.Workspace.printLocations(root)
                let counts = ContactLedgerCommand.Workspace.locationCounts(root)
                print("\n" + counts.map { "\($0.0): \($0.1)" }.joined(separator: "   "))
            }
        }
    }

    /// `workspace set-locations FILE`: `workspace.set_locations`, the tree read from a JSON file or stdin.
    struct SetLocations: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-locations",
            abstract: "Replaces the workspace's location tree with one read from a JSON file.",
            discussion: """
                FILE holds the country's tree, {"name": "Rwanda", "aliases": [...], "children": [states, each \
                with its districts, each with its wards]}, or an object with the tree under "hierarchy", as \
                `workspace locations --json` prints it; '-' reads it from stdin. state, district and ward fields \
                resolve against it. Prints the country and how many places each level has.
                """
        )

        @Argument(
            help: ArgumentHelp("The JSON file, or '-' for stdin.", valueName: "file"),
            completion: .file(extensions: ["json"])
        )
        var file: String

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let hierarchy = try JSONInput.reportingRefusals {
                let what = self.file == "-" ? "the location tree" : "the location tree in \(self.file)"
                let empty = "The location tree was to come from stdin ('-'), which held nothing: pipe a JSON object, e.g. contactledger workspace set-locations - < tree.json."
                let tree = JSONValue.object(try JSONInput.parse(JSONInput.text(of: self.file, emptyStandardInput: empty), what: what))
                // `workspace locations --json` prints {"hierarchy": tree}: its output reads back as it is.
                if tree["name"] == nil, let inner = tree["hierarchy"] { return inner }
                return tree
            }
            var params: [String: JSONValue] = ["hierarchy": hierarchy]
            self.idempotency.apply(to: &params)
            let result = try self.global.call("workspace.set_locations", params)
            self.global.emit(result) { result in
                let root = result["hierarchy"] ?? hierarchy
                let counts = ContactLedgerCommand.Workspace.locationCounts(root)
                Output.printBlock([("country", Output.text(root["name"]))] + counts + [("seq", Output.text(result["seq"]))])
            }
        }
    }
}
