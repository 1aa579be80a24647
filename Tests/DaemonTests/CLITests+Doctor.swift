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

    /// A socket path that is a symbolic link to the daemon's socket is checked as the socket it leads to,
    /// which every call reaches through it: doctor looked at the link itself (lstat) and said
    /// "FAIL … is not a socket". A link to no socket, or to a file, still fails.
    @Test func doctorFollowsASymbolicLinkToTheSocket() throws {
        let daemon = try DaemonHarness()
        let link = daemon.directory + "/link.sock"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: daemon.socketPath)
        let checks = { (socket: String) throws -> [String: String] in
            let run = try self.run(daemon, ["doctor", "--json", "--data-dir", daemon.directory], socket: socket)
            let report = try JSONValue(parsing: Array(run.output.utf8))
            let pairs = report["checks"]?.arrayValue?.compactMap { check in check.string("name").map { ($0, check.string("status") ?? "") } } ?? []
            return Dictionary(pairs) { first, _ in first }
        }
        #expect(try self.run(daemon, ["health"], socket: link).status == 0)
        let viaLink = try checks(link)
        #expect(viaLink["socket"] == "ok", "\(viaLink)")
        #expect(viaLink["daemon"] == "ok", "\(viaLink)")

        let file = daemon.directory + "/file.sock"
        try Data().write(to: URL(fileURLWithPath: file))
        let toFile = daemon.directory + "/file-link.sock"
        try FileManager.default.createSymbolicLink(atPath: toFile, withDestinationPath: file)
        let dangling = daemon.directory + "/dangling.sock"
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: daemon.directory + "/none.sock")
        for socket in [toFile, dangling] {
            #expect(try checks(socket)["socket"] == "fail", "\(socket)")
        }
    }
}
