// ContactLedger — command-line client.
import ArgumentParser
import Foundation
import RPC

/// JSON a command reads from its arguments, a file or stdin (`call`'s params, `workspace set-locations`'
/// tree), and the one-line refusal when it is not there or not JSON.
enum JSONInput {
    /// The text of `source`: stdin for `-`, else the file at that path.
    ///
    /// - Parameters:
    ///   - emptyStandardInput: the refusal when stdin holds nothing but white space (say what to pipe).
    /// - Throws: `ValidationError` when the file cannot be read, or stdin or the file holds nothing.
    static func text(of source: String, emptyStandardInput: String) throws -> String {
        guard source != "-" else {
            let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            guard text.contains(where: { !$0.isWhitespace }) else { throw ValidationError(emptyStandardInput) }
            return text
        }
        guard let data = FileManager.default.contents(atPath: source) else {
            throw ValidationError("Cannot read '\(source)': no such file, or it may not be read.")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard text.contains(where: { !$0.isWhitespace }) else { throw ValidationError("'\(source)' is empty.") }
        return text
    }

    /// `text` parsed as a JSON object.
    ///
    /// - Parameters:
    ///   - what: what the text is, for the refusal (`the params`).
    /// - Throws: `ValidationError` quoting the text when it is not JSON, or not an object.
    static func parse(_ text: String, what: String) throws -> [String: JSONValue] {
        let quoted = Output.truncate(text, to: 60)
        guard let value = try? JSONValue(parsing: text.utf8) else {
            throw ValidationError("Not valid JSON in \(what): '\(quoted)'.")
        }
        guard case .object(let members) = value else {
            throw ValidationError("Expected a JSON object in \(what), not '\(quoted)'.")
        }
        return members
    }

    /// Runs `body` (a command's `run()`); a `ValidationError` it throws is printed as one stderr line and
    /// becomes exit status 64. Thrown from `run()`, ArgumentParser prints one with the top-level usage,
    /// not the command's: one line says it better.
    static func reportingRefusals<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ValidationError {
            Output.printError(": \(error.message)")
            throw ExitCode.validationFailure
        }
    }
}
