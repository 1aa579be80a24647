// ContactLedger — daemon tests.
import Foundation
import RPC
import Testing

/// The `contactledger` CLI, run as a real process against a real daemon.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct CLITests {
    struct Run {
        var status: Int32
        var output: String
        var error: String
    }

    func run(_ daemon: DaemonHarness, _ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = DaemonHarness.productsDirectory.appendingPathComponent("contactledger")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CONTACTLEDGER_SOCKET"] = daemon.socketPath
        process.environment = environment
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self), error: String(decoding: err, as: UTF8.self))
    }

    @Test func createModifyReadAndFail() throws {
        let daemon = try DaemonHarness()
        #expect(try self.run(daemon, ["workspace", "configure", "--country", "RW"]).status == 0)
        #expect(try self.run(daemon, ["field", "create", "age", "--type", "number"]).status == 0)
        let created = try self.run(daemon, ["contact", "create", "--name", "Ben", "--urn", "tel:0788 123 123", "--field", "age=23", "--json"])
        #expect(created.status == 0)
        let contact = try JSONDecoder().decode(JSONValue.self, from: Data(created.output.utf8))
        let uuid = try #require(contact.string("uuid"))
        #expect(contact["urns"] == ["tel:+250788123123"])
        let shown = try self.run(daemon, ["contact", "get", uuid])
        #expect(shown.status == 0)
        #expect(shown.output.contains("Ben"))
        #expect(shown.output.contains("tel:+250788123123"))
        #expect(try self.run(daemon, ["contact", "modify", uuid, "--field", "age=24", "--name", "Ben H"]).status == 0)
        #expect(try daemon.call("contacts.get", ["uuid": .string(uuid)])["fields"]?["age"]?.string("text") == "24")
        let history = try self.run(daemon, ["contact", "history", uuid])
        #expect(history.output.contains("contact_name_changed"))
        #expect(try self.run(daemon, ["contact", "block", uuid]).status == 0)
        // A refused command: one line with the code on stderr, exit status 1.
        let refused = try self.run(daemon, ["send", uuid, "hello"])
        #expect(refused.status == 1)
        #expect(refused.error.contains("-32003"))
        #expect(refused.error.split(separator: "\n").count == 1)
        // Any method through `call`.
        let call = try self.run(daemon, ["call", "contacts.get", #"{"urn":"tel:+250788123123"}"#])
        #expect(call.status == 0)
        #expect(call.output.contains(uuid))
        // Search at the top level, with featured fields as columns.
        #expect(try self.run(daemon, ["field", "update", "age", "--featured", "true", "--priority", "1"]).status == 0)
        #expect(try self.run(daemon, ["contact", "activate", uuid]).status == 0)
        let search = try self.run(daemon, ["search", "age > 18", "--sort", "-created_on"])
        #expect(search.status == 0)
        #expect(search.output.uppercased().contains("AGE"))
        #expect(search.output.contains("24"))
        #expect(search.output.contains("total: 1"))
        let count = try self.run(daemon, ["count", "age > 30"])
        #expect(count.output.contains("0"))
        let verify = try self.run(daemon, ["verify"])
        #expect(verify.status == 0)
        #expect(verify.output.contains("true"))
    }

    @Test func anUnreachableDaemonIsExitStatus2() throws {
        let daemon = try DaemonHarness()
        daemon.stop()
        let run = try self.run(daemon, ["health"])
        #expect(run.status == 2)
        #expect(run.error.contains("contactledgerd"))
    }
}
