// ContactLedger — command-line client.
import ArgumentParser
import Foundation
import RPC

extension ContactLedgerCommand {
    /// `import …`: `import [start] FILE` imports a spreadsheet, `import status ID` shows an import again.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Imports contacts from an .xlsx or .csv file (import FILE), or shows an import's status (import status ID).",
            subcommands: [Start.self, Status.self],
            defaultSubcommand: Start.self
        )
    }

    /// `export …`: `export [start] OUT` exports contacts, `export status ID` shows an export again.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Exports contacts to .xlsx or .csv (export OUT), or shows an export's status (export status ID).",
            subcommands: [Start.self, Status.self],
            defaultSubcommand: Start.self
        )
    }
}

extension ContactLedgerCommand.Import {
    /// `import [start] FILE`: `imports.start`, then `imports.status` until done, with a progress bar on a
    /// terminal and a table of the rows in error.
    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Imports contacts from an .xlsx or .csv file (the default: import FILE).",
            discussion: """
                Row 1 holds the headers: UUID / Contact UUID, Name, Language, Status, URN:<scheme> (may repeat), \
                Field:<name or key> (new fields are created as text); others are ignored. Rows are matched by \
                UUID or URN and updated, or created. The daemon reads FILE itself (its absolute path is sent); \
                with --upload the client sends the file's content instead. A file named status is ./status.
                """
        )

        @Argument(help: ArgumentHelp("The spreadsheet to import.", valueName: "file"))
        var file: String

        @Flag(help: "Report what would happen (columns, creates, updates, errors) and write nothing.")
        var dryRun = false

        @Option(help: ArgumentHelp("The file's format (default: from its content).", valueName: "xlsx|csv"))
        var format: String?

        @Option(help: ArgumentHelp("A manual group (name or UUID; created if new) that imported contacts join.", valueName: "name"))
        var group: String?

        @Flag(help: "Send the file's content rather than its path (when the daemon cannot read the file).")
        var upload = false

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if let format = self.format, !["xlsx", "csv"].contains(format) { throw ValidationError("--format is xlsx or csv.") }
        }

        func run() throws {
            let url = URL(fileURLWithPath: self.file)
            var params: [String: JSONValue] = [:]
            if self.upload {
                guard let data = try? Data(contentsOf: url) else {
                    Output.printError(": cannot read \(self.file)")
                    throw ExitCode.rpcError
                }
                params["content_base64"] = .string(data.base64EncodedString())
            } else {
                params["path"] = .string(url.standardizedFileURL.path)
            }
            if self.dryRun { params["dry_run"] = true }
            params["format"] = self.format.map(JSONValue.string)
            params["group"] = self.group.map(JSONValue.string)
            self.idempotency.apply(to: &params)
            let started = try self.global.call("imports.start", params)
            guard let id = started["import"]?.stringValue else { throw ExitCode.rpcError }
            let progress = ProgressLine(enabled: !self.global.json)
            var status: JSONValue = .null
            do {
                while true {
                    status = try self.global.call("imports.status", ["import": .string(id)])
                    let state = status["state"]?.stringValue ?? ""
                    progress.show(
                        done: Int(status["rows_done"]?.integerValue ?? 0), total: Int(status["rows_total"]?.integerValue ?? 0),
                        detail: "\(Output.text(status["rate"])) rows/s · \(status["errors"]?.arrayValue?.count ?? 0) errors"
                    )
                    if state == "complete" || state == "failed" { break }
                    usleep(200_000)
                }
            } catch let exit as ExitCode {
                // The error is printed (a daemon stopping answers -32005 shutting_down, or is gone); the
                // import's id was not, and without it `import status` could not show what was written.
                let command = self.global.commandLine("import status \(id)")
                Output.printError(": import \(id) was interrupted or is still running; `\(command)` shows its state and what was written")
                throw exit
            }
            progress.finish()
            self.global.emit(status) { status in ContactLedgerCommand.Import.printSummary(status) }
            if status["state"]?.stringValue == "failed" { throw ExitCode.rpcError }
        }
    }
}

extension ContactLedgerCommand.Import {
    /// An `imports.status` answer as a key-value block, then the rows in error as a table.
    static func printSummary(_ status: JSONValue) {
        let dry = status["dry_run"] == .bool(true)
        var pairs: [(String, String)] = [
            ("import", Output.text(status["import"])),
            ("state", Output.text(status["state"]) + (dry ? " (dry run: nothing written)" : "")),
            ("records", "\(Output.text(status["rows_done"])) of \(Output.text(status["rows_total"]))"),
            (dry ? "would create" : "created", Output.text(status["created"])),
            (dry ? "would update" : "updated", Output.text(status["updated"])),
            ("errors", "\(status["errors"]?.arrayValue?.count ?? 0)"),
        ]
        let columns = (status["columns"]?.arrayValue ?? []).map { column -> String in
            let header = Output.text(column["header"])
            let kind = Output.text(column["kind"])
            let key = column["key"]?.stringValue.map { " \($0)" } ?? ""
            let new = column["new"] == .bool(true) ? ", new" : ""
            return "\(header) → \(kind)\(key)\(new)"
        }
        if !columns.isEmpty { pairs.append(("columns", columns.joined(separator: "; "))) }
        if let failure = status["failure"]?["message"]?.stringValue { pairs.append(("failure", failure)) }
        Output.printBlock(pairs)
        let errors = status["errors"]?.arrayValue ?? []
        if !errors.isEmpty {
            print("")
            Table(columns: [.key("row"), .key("column", maxWidth: 30), .key("message", maxWidth: 90)]).print(errors, empty: "")
        }
    }
}

extension ContactLedgerCommand.Export {
    /// `export [start] --group NAME | --query Q OUT.xlsx|OUT.csv`: `exports.start`, then `exports.status`
    /// until done.
    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exports a group, a query's matches, or the active contacts to .xlsx or .csv (the default: export OUT).",
            discussion: """
                The daemon writes the file (at its absolute path), so its directory must be writable by the \
                daemon. A file named status is ./status.
                """
        )

        @Option(help: ArgumentHelp("The group to export (name or UUID).", valueName: "name"))
        var group: String?

        @Option(help: ArgumentHelp("A contact query whose matches are exported.", valueName: "query"))
        var query: String?

        @Option(help: ArgumentHelp("The format (default: from the file's extension, else xlsx).", valueName: "xlsx|csv"))
        var format: String?

        @Argument(help: ArgumentHelp("The file to write.", valueName: "out"))
        var output: String

        @OptionGroup var idempotency: IdempotencyOptions
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if self.group != nil, self.query != nil { throw ValidationError("Give --group or --query, not both.") }
            if let format = self.format, !["xlsx", "csv"].contains(format) { throw ValidationError("--format is xlsx or csv.") }
        }

        func run() throws {
            let path = URL(fileURLWithPath: self.output).standardizedFileURL.path
            let format = self.format ?? (path.lowercased().hasSuffix(".csv") ? "csv" : "xlsx")
            var params: [String: JSONValue] = ["path": .string(path), "format": .string(format)]
            params["group"] = self.group.map(JSONValue.string)
            params["query"] = self.query.map(JSONValue.string)
            self.idempotency.apply(to: &params)
            let started = try self.global.call("exports.start", params)
            guard let id = started["export"]?.stringValue else { throw ExitCode.rpcError }
            let progress = ProgressLine(enabled: !self.global.json)
            var status: JSONValue = .null
            do {
                while true {
                    status = try self.global.call("exports.status", ["export": .string(id)])
                    let state = status["state"]?.stringValue ?? ""
                    progress.show(done: Int(status["rows_done"]?.integerValue ?? 0), total: Int(status["rows_total"]?.integerValue ?? 0), detail: state)
                    if state == "complete" || state == "failed" { break }
                    usleep(200_000)
                }
            } catch let exit as ExitCode {
                // As for an import: the error is printed, the export's id was not.
                Output.printError(": export \(id) was interrupted or is still running; `\(self.global.commandLine("export status \(id)"))` shows its state")
                throw exit
            }
            progress.finish()
            self.global.emit(status) { status in ContactLedgerCommand.Export.printSummary(status) }
            if status["state"]?.stringValue == "failed" { throw ExitCode.rpcError }
        }
    }

    /// An `exports.status` answer as a key-value block.
    static func printSummary(_ status: JSONValue) {
        var pairs: [(String, String)] = [
            ("export", Output.text(status["export"])), ("state", Output.text(status["state"])),
            ("rows", Output.text(status["rows_done"])), ("path", Output.text(status["path"])),
        ]
        if let reason = status["failure"]?["reason"]?.stringValue { pairs.append(("failure", reason)) }
        Output.printBlock(pairs)
    }
}
