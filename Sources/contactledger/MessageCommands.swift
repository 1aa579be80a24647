// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand {
    /// The columns of a message table.
    static let messageTable = Table(columns: [
        .key("created_on", "time"),
        .key("direction"),
        .key("urn", maxWidth: 30),
        .key("unsendable_reason", "unsendable"),
        .key("text", maxWidth: 60),
    ])

    /// Prints a message answer as a key-value block.
    static func printMessage(_ message: JSONValue) {
        Output.printObject(message, leading: ["uuid", "direction", "urn", "text", "created_on"])
    }

    /// `send UUID TEXT [--urn URN]`: `messages.send`.
    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Records an outgoing message to a contact (refused if blocked, stopped or archived)."
        )

        @Argument(help: ArgumentHelp("The contact's UUID.", valueName: "uuid"))
        var uuid: String

        @Argument(help: ArgumentHelp("The message text.", valueName: "text"))
        var text: String

        @Option(help: ArgumentHelp("Send to this URN of the contact instead of the preferred one.", valueName: "urn"))
        var urn: String?

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = ["uuid": .string(self.uuid), "text": .string(self.text)]
            params["urn"] = self.urn.map(JSONValue.string)
            self.idempotency.apply(to: &params)
            let result = try self.global.call("messages.send", params)
            self.global.emit(result) { result in
                var message = result["message"] ?? result
                if case .object(var members) = message, let seq = result["seq"] {
                    members["seq"] = seq
                    message = .object(members)
                }
                ContactLedgerCommand.printMessage(message)
            }
        }
    }

    /// `receive URN TEXT`: `messages.receive`.
    struct Receive: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Records an incoming message from a URN, creating its contact if needed."
        )

        @Argument(help: ArgumentHelp("The sender's URN, e.g. tel:+250788123123.", valueName: "urn"))
        var urn: String

        @Argument(help: ArgumentHelp("The message text.", valueName: "text"))
        var text: String

        @Option(help: ArgumentHelp("The channel it arrived on.", valueName: "channel"))
        var channel: String?

        @Option(help: ArgumentHelp("The channel's id for the message.", valueName: "id"))
        var externalId: String?

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func run() throws {
            var params: [String: JSONValue] = ["urn": .string(self.urn), "text": .string(self.text)]
            params["channel"] = self.channel.map(JSONValue.string)
            params["external_id"] = self.externalId.map(JSONValue.string)
            self.idempotency.apply(to: &params)
            let result = try self.global.call("messages.receive", params)
            self.global.emit(result) { result in
                Output.printBlock([
                    ("created_contact", Output.text(result["created_contact"])), ("seq", Output.text(result["seq"])),
                ])
                if let message = result["message"] {
                    print("\n" + Output.bold("Message"))
                    ContactLedgerCommand.printMessage(message)
                }
                if let contact = result["contact"] {
                    print("\n" + Output.bold("Contact"))
                    ContactLedgerCommand.Contacts.contactPrinter(self.global)(contact)
                }
            }
        }
    }
}
