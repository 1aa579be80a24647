// ContactLedger — command-line client.
import ArgumentParser
import Foundation

/// The `contactledger` command: a client of the contactledgerd daemon's JSON-RPC API.
///
/// Each leaf command makes one call (``CallCommand`` any call) over the daemon's Unix socket and prints the
/// answer as a table or key-value block, or as JSON with `--json`.
@main
struct ContactLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactledger",
        abstract: "Reads and changes the contacts of a ContactLedger daemon.",
        discussion: """
            Talks JSON-RPC 2.0 to contactledgerd over its Unix socket (--socket, before or after the \
            subcommand, else $CONTACTLEDGER_SOCKET, \
            else ./.contactledger/ledger.sock), or with --shard-map FILE (else $CONTACTLEDGER_SHARD_MAP) to the \
            primary that owns each call's workspace. Output is a table or key-value block; --json prints the raw \
            result instead. Errors are one line on stderr: error CODE: MESSAGE (DATA).

            Exit status:
              0   success
              1   the daemon answered with a JSON-RPC error
              2   the daemon could not be reached, or the connection failed
              3   verify found a break in the ledger's hash chain, or projections verify found differences
              4   doctor found a problem
              64  invalid command-line arguments (or a call the shard map has no daemon for)
              74  the output could not be written (a full disk, a closed stdout)
            """,
        version: "0.1.0",
        groupedSubcommands: [
            CommandGroup(
                name: "Contacts and messages",
                subcommands: [Contacts.self, Contacts.Search.self, Contacts.Count.self, Send.self, Receive.self]
            ),
            CommandGroup(name: "Workspace", subcommands: [Workspace.self, Fields.self, Groups.self]),
            CommandGroup(name: "Import and export", subcommands: [Import.self, Export.self]),
            CommandGroup(
                name: "Ledger",
                subcommands: [Events.self, Tail.self, Verify.self, Audit.self, Backup.self, Projections.self]
            ),
            CommandGroup(
                name: "System",
                subcommands: [Health.self, Stats.self, Methods.self, Doctor.self, CallCommand.self, Completion.self]
            ),
        ]
    )

    /// Runs the command line, with the options every command shares also accepted before the
    /// subcommand (`contactledger --socket PATH health`), where ArgumentParser reads only the root's, and
    /// a value that starts with `-` refused before it is read as options (``DashedValues``).
    static func main() async {
        // However the process ends (a command's success, its failure, the help or the version that
        // ArgumentParser prints and exits after), what it printed must have been written.
        atexit { Output.exitIfOutputFailed() }
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let mistaken = DashedValues.firstMistaken(in: arguments) {
            Self.exit(withError: DashedValues.refusal(of: mistaken))
        }
        let moved = GlobalOptions.movingLeadingOptions(arguments)
        do {
            _ = try Self.parseAsRoot(moved)
        } catch {
            // An error about what is left once the shared options are set aside says what is wrong; one
            // that comes only with them moved is theirs, and is the one shown below.
            let bare = GlobalOptions.withoutSharedOptions(arguments)
            if bare != arguments {
                do {
                    _ = try Self.parseAsRoot(bare)
                } catch {
                    Self.exit(withError: error)
                }
            }
        }
        await self.main(moved)
    }
}
