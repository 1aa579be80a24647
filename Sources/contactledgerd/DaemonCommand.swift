// ContactLedger — daemon executable.
import ArgumentParser

/// `contactledgerd`: serves the ledger (the default), or rebuilds its read models offline.
@main
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactledgerd",
        abstract: "The event-sourced contact ledger daemon.",
        version: "0.1.0",
        subcommands: [ContactLedgerDaemon.self, OfflineRebuild.self],
        defaultSubcommand: ContactLedgerDaemon.self
    )
}
