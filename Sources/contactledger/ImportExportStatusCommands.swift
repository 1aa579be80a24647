// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand.Import {
    /// `import status ID`: `imports.status`, for an import started earlier (by `--json`, a script, another
    /// terminal): its id could be looked up again only with `call`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shows an import's state, counts and rows in error, by the id import printed."
        )

        @Argument(help: ArgumentHelp("The import's id.", valueName: "id"))
        var id: String

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let status = try self.global.call("imports.status", ["import": .string(self.id)])
            self.global.emit(status, ContactLedgerCommand.Import.printSummary)
        }
    }
}

extension ContactLedgerCommand.Export {
    /// `export status ID`: `exports.status`, for an export started earlier.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shows an export's state, rows and file, by the id export printed."
        )

        @Argument(help: ArgumentHelp("The export's id.", valueName: "id"))
        var id: String

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let status = try self.global.call("exports.status", ["export": .string(self.id)])
            self.global.emit(status, ContactLedgerCommand.Export.printSummary)
        }
    }
}
