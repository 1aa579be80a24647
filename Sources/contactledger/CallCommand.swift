// ContactLedger — command-line client.
import ArgumentParser
import RPC

/// `call METHOD [JSON]`: any method of the contract, with raw JSON params, printing the raw JSON result.
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Calls any method with JSON params and prints the JSON result.",
        discussion: """
            PARAMS is a JSON object, '-' to read it from stdin, or left out for {}. --workspace and --actor are \
            added to it unless it already has them (a member that is null it has not: the option replaces it). \
            The result is always printed as JSON.

            Example: contactledger call contacts.parse_query '{"query": "age > 20"}'
            """
    )

    @Argument(help: ArgumentHelp("The method, e.g. contacts.search.", valueName: "method"))
    var method: String

    @Argument(help: ArgumentHelp("The params as JSON, or '-' for stdin.", valueName: "params"))
    var params: String?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if self.method.isEmpty { throw ValidationError("Give a method name, e.g. system.health.") }
        if let params = self.params, params != "-" {
            _ = try Self.parse(params)
        }
    }

    func run() throws {
        let params = try JSONInput.reportingRefusals {
            guard self.params == "-" else { return try Self.parse(self.params ?? "{}") }
            return try Self.parse(JSONInput.text(of: "-", emptyStandardInput: Self.emptyStandardInput))
        }
        let result = try self.global.withConnection { connection in
            try connection.call(self.method, params)
        }
        Output.printJSON(result)
    }

    /// The refusal when the params were to come from stdin, which held nothing (but white space).
    private static let emptyStandardInput =
        "The params were to come from stdin ('-'), which held nothing: pipe a JSON object, e.g. echo '{}' | contactledger call METHOD -."

    /// Parses `text` as the params: a JSON object, what every method takes (an array was sent, and refused
    /// by the daemon with -32602).
    ///
    /// - Throws: `ValidationError` quoting the text when it is not JSON, or not an object.
    private static func parse(_ text: String) throws -> [String: JSONValue] {
        try JSONInput.parse(text, what: "the params")
    }
}
