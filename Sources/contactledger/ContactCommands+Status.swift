// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand.Contacts {
    /// What every status subcommand takes: the contact, the write options and the global options.
    struct StatusTarget: ParsableArguments {
        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @OptionGroup var write: ContactWriteOptions
        @OptionGroup var global: GlobalOptions

        /// Sends one `status` modifier and prints the contact.
        func set(_ status: ContactStatusArgument) throws {
            try ContactLedgerCommand.Contacts.modify(
                uuid: self.uuid,
                modifiers: [["type": "status", "status": .string(status.rawValue)]],
                write: self.write,
                global: self.global
            )
        }
    }

    /// `contact block UUID`: a `status` modifier to `blocked`.
    struct Block: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Blocks a contact: out of every group; messages to it fail, and its incoming messages are kept, archived.")
        @OptionGroup var target: StatusTarget
        func run() throws { try self.target.set(.blocked) }
    }

    /// `contact stop UUID`: a `status` modifier to `stopped`.
    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Marks a contact as stopped (opted out).")
        @OptionGroup var target: StatusTarget
        func run() throws { try self.target.set(.stopped) }
    }

    /// `contact archive UUID`: a `status` modifier to `archived`.
    struct Archive: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Archives a contact.")
        @OptionGroup var target: StatusTarget
        func run() throws { try self.target.set(.archived) }
    }

    /// `contact activate UUID`: a `status` modifier to `active`.
    struct Activate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Makes a contact active again.")
        @OptionGroup var target: StatusTarget
        func run() throws { try self.target.set(.active) }
    }
}
