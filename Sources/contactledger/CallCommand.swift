// ContactLedger — command-line client.
import ArgumentParser
import Foundation
import RPC

/// `call METHOD [JSON]`: any method of the contract, with raw JSON params, printing the raw JSON result.
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Calls any method with JSON params and prints the JSON result.",
        discussion: """
            PARAMS is a JSON object (or array), '-' to read it from stdin, or left out for {}. --workspace and \
            --actor are added to an object unless it already has them. The result is always printed as JSON.

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
        let params: JSONValue
        do {
            params = try self.params == "-" ? Self.parseStandardInput() : Self.parse(self.params ?? "{}")
        } catch let error as ValidationError {
            // Thrown from run(), ArgumentParser prints a ValidationError with the top-level usage, not
            // call's: one line says it better.
            Output.printError(": \(error.message)")
            throw ExitCode.validationFailure
        }
        let result = try self.global.withConnection { connection in
            try connection.callRaw(self.method, params)
        }
        Output.printJSON(result)
    }

    /// Reads the params from stdin (`-`) and parses them.
    ///
    /// - Throws: `ValidationError` when stdin holds nothing (but white space), or not a JSON object or array.
    private static func parseStandardInput() throws -> JSONValue {
        let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        guard text.contains(where: { !$0.isWhitespace }) else {
            throw ValidationError("The params were to come from stdin ('-'), which held nothing: pipe a JSON object, e.g. echo '{}' | contactledger call METHOD -.")
        }
        return try Self.parse(text)
    }

    /// Parses `text` as the params: a JSON object or array.
    ///
    /// - Throws: `ValidationError` quoting the text when it is not JSON, or not an object or array.
    private static func parse(_ text: String) throws -> JSONValue {
        guard let value = try? JSONValue(parsing: text.utf8) else {
            throw ValidationError("The params '\(Output.truncate(text, to: 60))' are not valid JSON.")
        }
        guard case .object = value else {
            if case .array = value { return value }
            throw ValidationError("The params must be a JSON object or array, not '\(Output.truncate(text, to: 60))'.")
        }
        return value
    }
}
