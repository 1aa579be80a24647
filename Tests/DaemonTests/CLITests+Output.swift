// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// What the CLI prints: the daemon's answers as it wrote them, and data made safe for a terminal.
extension CLITests {
    /// `--json` and `call` print the daemon's numbers as it wrote them. The CLI read every fraction as the
    /// nearest double, so a number field's 3.141592653589793238462643383279 came out as 3.141592653589793,
    /// 12345678.123456789 as 12345678.12345679 and -0.000001 as -1e-06.
    @Test func jsonPrintsTheDaemonsNumbersUnchanged() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        for number in ["3.141592653589793238462643383279", "12345678.123456789", "0.1000000000000000055511151231257827", "-0.000001"] {
            let uuid = try #require(try daemon.call("contacts.create", ["name": "n", "fields": ["age": .string(number)]]).string("uuid"))
            // The daemon's own text of the answer holds every digit.
            let client = try daemon.client()
            try client.send(raw: Array(#"{"jsonrpc":"2.0","id":1,"method":"contacts.get","params":{"uuid":"\#(uuid)"}}"#.utf8) + [10])
            let raw = String(decoding: try client.readLine(), as: UTF8.self)
            #expect(raw.contains("\"number\":\(number)"), "the daemon sent \(raw)")
            let shown = try self.run(daemon, ["contact", "get", uuid, "--json"])
            #expect(shown.status == 0)
            #expect(shown.output.contains("\"number\" : \(number)"), "\(shown.output)")
            let called = try self.run(daemon, ["call", "contacts.get", #"{"uuid": "\#(uuid)"}"#])
            #expect(called.output.contains("\"number\" : \(number)"), "\(called.output)")
        }
    }
}
