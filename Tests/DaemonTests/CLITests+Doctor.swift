// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// `contactledger doctor`'s report, as people and scripts read it.
extension CLITests {
    /// `doctor --strict` counts each check once, by its own status, and fails on a warning by its exit
    /// status and `ok`: a warning was counted as a failure too ("6 ok, 1 warning, 1 failed" for 7 checks,
    /// and `failed: 1` in --json with no check failed).
    @Test func doctorStrictCountsEachCheckOnce() throws {
        let daemon = try DaemonHarness(arguments: ["--socket-mode", "0666"])
        let json = try self.run(daemon, ["doctor", "--strict", "--json"])
        #expect(json.status == 4, "\(json.output)")
        let report = try JSONValue(parsing: Array(json.output.utf8))
        let statuses = report["checks"]?.arrayValue?.compactMap { $0.string("status") } ?? []
        #expect(statuses.contains("warn"), "\(json.output)")
        #expect(report.int("failed") == Int64(statuses.filter { $0 == "fail" }.count), "\(json.output)")
        #expect(report.int("warnings") == Int64(statuses.filter { $0 == "warn" }.count), "\(json.output)")
        #expect(report["ok"] == false)

        let text = try self.run(daemon, ["doctor", "--strict"])
        #expect(text.status == 4)
        let lines = text.output.split(separator: "\n")
        let checks = lines.dropLast()
        let summary = try #require(lines.last.map(String.init))
        let count = { (label: String) in checks.filter { $0.hasPrefix(label) }.count }
        let expected = "doctor: \(count("ok ")) ok, \(count("warn")) warning\(count("warn") == 1 ? "" : "s"), \(count("FAIL")) failed"
        #expect(summary.hasPrefix(expected), "\(text.output)")
        #expect(summary.contains("--strict"), "\(summary)")
        // Without --strict, the same warning passes.
        #expect(try self.run(daemon, ["doctor"]).status == (count("FAIL") > 0 ? 4 : 0))
    }
}
