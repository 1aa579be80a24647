// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand.Contacts {
    /// `contact block UUID`: a `status` modifier to `blocked`.
    struct Block: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Blocks a contact (no messages in or out).")

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @OptionGroup var write: ContactWriteOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try ContactLedgerCommand.Contacts.setStatus(
                .blocked,
                uuid: self.uuid,
                write: self.write,
                global: self.global
            )
        }
    }

    /// `contact stop UUID`: a `status` modifier to `stopped`.
    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Marks a contact as stopped (opted out).")

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @OptionGroup var write: ContactWriteOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try ContactLedgerCommand.Contacts.setStatus(
                .stopped,
                uuid: self.uuid,
                write: self.write,
                global: self.global
            )
        }
    }

    /// `contact archive UUID`: a `status` modifier to `archived`.
    struct Archive: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Archives a contact.")

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @OptionGroup var write: ContactWriteOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try ContactLedgerCommand.Contacts.setStatus(
                .archived,
                uuid: self.uuid,
                write: self.write,
                global: self.global
            )
        }
    }

    /// `contact activate UUID`: a `status` modifier to `active`.
    struct Activate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Makes a contact active again.")

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @OptionGroup var write: ContactWriteOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try ContactLedgerCommand.Contacts.setStatus(
                .active,
                uuid: self.uuid,
                write: self.write,
                global: self.global
            )
        }
    }

    /// Sends one `status` modifier for `uuid` and prints the contact.
    static func setStatus(
        _ status: ContactStatusArgument,
        uuid: String,
        write: ContactWriteOptions,
        global: GlobalOptions
    ) throws {
        try Self.modify(
            uuid: uuid,
            modifiers: [["type": "status", "status": .string(status.rawValue)]],
            write: write,
            global: global
        )
    }
}
