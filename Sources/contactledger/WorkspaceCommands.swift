// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand {
    /// `workspace …`: the workspace's settings.
    struct Workspace: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "workspace",
            abstract: "Shows or changes the workspace's settings.",
            subcommands: [Get.self, Configure.self]
        )
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
}
