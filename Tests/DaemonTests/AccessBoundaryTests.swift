// ContactLedger — daemon tests.
import Foundation
import LedgerStore
import RPC
import Testing

/// The daemon as a boundary between local users: what a grant reaches, which files a peer may name,
/// the socket's publication, and the modes of what the daemon creates.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct AccessBoundaryTests {
    static let rows = "URN:Mailto,Name\r\nann@example.com,Ann\r\n"

    /// Runs a daemon that must refuse to start; one that starts is stopped after 20 s (status 124).
    static func startDaemon(_ arguments: [String]) throws -> Operations.Run {
        try Operations.run("/usr/bin/timeout", ["20", DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd").path] + arguments)
    }

    /// A grant limited to a workspace reaches that workspace's data only: not the methods that reach the
    /// whole ledger (refused with the workspace `*`), and no file on the daemon's host, which the daemon
    /// would read or write with its own rights (refused naming `path`; the rows sent in the request
    /// are imported).
    @Test func aWorkspaceGrantReachesNeitherTheWholeLedgerNorHostFiles() throws {
        let daemon = try DaemonHarness(arguments: ["--grant", "uid=\(getuid()),workspace=alpha,mode=write"])
        #expect(try daemon.call("system.health").string("status") == "ok")
        #expect(try daemon.call("projections.status")["projections"]?.arrayValue?.isEmpty == false)
        let backup = daemon.directory + "-whole"
        let file = daemon.directory + "-rows.csv"
        let export = daemon.directory + "-out.csv"
        defer { for path in [backup, file, export] { try? FileManager.default.removeItem(atPath: path) } }
        let wholeLedger: [(String, JSONValue)] = [
            ("ledger.backup", ["workspace": "alpha", "path": .string(backup)]),
            ("projections.rebuild", ["workspace": "alpha", "name": "contacts"]),
            ("projections.verify", ["workspace": "alpha", "name": "contacts"]),
            ("system.stats", ["workspace": "alpha"]),
            ("ledger.verify", ["workspace": "alpha"]),
        ]
        for (method, params) in wholeLedger {
            let refused = try daemon.error(method, params)
            #expect(refused.code == -32007, "\(method)")
            #expect(refused.data("workspace") == "*", "\(method)")
        }
        #expect(!FileManager.default.fileExists(atPath: backup))
        // `doctor` skips the checks this grant does not allow; it failed them, for a healthy daemon.
        let doctor = try Operations.run("contactledger", ["doctor", "--socket", daemon.socketPath])
        #expect(!doctor.output.contains("FAIL"), "\(doctor.output)")
        #expect(doctor.output.contains("grants do not allow system.stats"), "\(doctor.output)")

        try Self.rows.write(toFile: file, atomically: true, encoding: .utf8)
        let byPath = try daemon.error("imports.start", ["workspace": "alpha", "path": .string(file), "format": "csv"])
        #expect(byPath.code == -32007)
        #expect(byPath.data("field") == "path")
        #expect(byPath.data("workspace") == "alpha")
        let exported = try daemon.error("exports.start", ["workspace": "alpha", "format": "csv", "path": .string(export)])
        #expect(exported.code == -32007)
        #expect(exported.data("field") == "path")
        #expect(!FileManager.default.fileExists(atPath: export))

        let started = try daemon.call(
            "imports.start", ["workspace": "alpha", "format": "csv", "content_base64": .string(Data(Self.rows.utf8).base64EncodedString())]
        )
        let status = try ImportExportTests.wait(daemon, "imports.status", ["workspace": "alpha", "import": started["import"] ?? .null])
        #expect(status.int("created") == 1)
        #expect(try daemon.error("contacts.count", ["query": ""]).code == -32007)  // main: not granted.
    }

    /// With `files=yes` a peer may name files; an export is its owner's alone (`0600`), like a backup.
    @Test func aFilesGrantWritesOwnerOnlyExports() throws {
        let daemon = try DaemonHarness(arguments: ["--grant", "uid=\(getuid()),mode=write,files=yes"])
        try daemon.call("contacts.create", ["name": "Ann", "urns": ["mailto:ann@example.com"]])
        let export = daemon.directory + "-out.csv"
        defer { try? FileManager.default.removeItem(atPath: export) }
        let previous = umask(0o022)
        defer { umask(previous) }
        let started = try daemon.call("exports.start", ["format": "csv", "path": .string(export)])
        let status = try ImportExportTests.wait(daemon, "exports.status", ["export": started["export"] ?? .null])
        #expect(status.string("state") == "complete")
        var info = stat()
        #expect(stat(export, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    /// A grant is refused at start (usage error, 64) when it repeats a key, names both a uid and a gid,
    /// or gives `files` or `mode` an unknown value: the last repeated key used to win silently. A workspace
    /// that is no workspace name is refused too: the grant matched nothing, and the daemon started.
    @Test(arguments: [
        "uid=1,mode=read,mode=write", "uid=1,workspace=a,workspace=b", "gid=2,uid=1", "uid=1,files=maybe", "uid=1,workspace=",
        "uid=1,,mode=read", "uid=1,workspace=a b", "uid=1,workspace=a\u{E7}\u{E3}o", "uid=1,workspace=-a",
        "uid=1,workspace=\(String(repeating: "w", count: 65))",
    ])
    func aMalformedGrantIsAUsageError(grant: String) throws {
        let directory = "/tmp/clt-grant-\(UUID().uuidString.prefix(6))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try Self.startDaemon(["--data-dir", directory, "--grant", grant])
        #expect(run.status == 64, "\(grant): \(run.error)")
    }

    /// A `gid` grant matches a supplementary group of the peer's (SO_PEERGROUPS: operators add users to
    /// a group with `usermod -aG`), and the socket's group reaches a socket in the data directory (the
    /// default place), which the daemon creates `0710`. Root only: the client runs as another user.
    @Test(.enabled(if: geteuid() == 0)) func aGroupReachesTheSocketAndItsGrantThroughSupplementaryMembership() throws {
        let daemon = try DaemonHarness(arguments: ["--socket-group", "5151", "--grant", "gid=5151,mode=read"])
        let bin = try Operations.cliForOtherUsers(beside: daemon)
        defer { try? FileManager.default.removeItem(atPath: bin) }
        func asOtherUser(_ groups: String, _ method: String, _ params: String) throws -> Operations.Run {
            try Operations.run(
                "/usr/bin/setpriv",
                ["--reuid=4242", "--regid=4242", groups, bin + "/contactledger", "call", method, params, "--socket", daemon.socketPath, "--json"],
                environment: ["HOME": bin]
            )
        }
        let member = try asOtherUser("--groups=5151", "system.health", "{}")
        #expect(member.status == 0, "\(member.error)")
        // Group 0 among the peer's groups comes first (the kernel sorts them) and hides none of the others.
        let rootGroupMember = try asOtherUser("--groups=0,5151", "system.health", "{}")
        #expect(rootGroupMember.status == 0, "\(rootGroupMember.error)")
        let write = try asOtherUser("--groups=5151", "contacts.create", "{\"name\":\"x\"}")
        #expect(write.status == 1)
        #expect(write.error.contains("32007"))
        let stranger = try asOtherUser("--clear-groups", "system.health", "{}")
        #expect(stranger.status == 2)
        // `doctor` tells a socket it may not reach from a missing one.
        let doctor = try Operations.run(
            "/usr/bin/setpriv", ["--reuid=4242", "--regid=4242", "--clear-groups", bin + "/contactledger", "doctor", "--socket", daemon.socketPath],
            environment: ["HOME": bin]
        )
        #expect((doctor.output + doctor.error).contains("cannot reach"), "\(doctor.output)")
    }

    /// The socket appears at its path with its mode already set, and nothing of its publication is
    /// left beside it. A socket directory others may write without the sticky bit is refused: they
    /// could replace the socket.
    @Test func theSocketIsPublishedWithItsModeSet() throws {
        let daemon = try DaemonHarness(arguments: ["--socket-mode", "0600"])
        var info = stat()
        #expect(lstat(daemon.socketPath, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600)
        let left = try FileManager.default.contentsOfDirectory(atPath: daemon.directory).filter { $0.hasPrefix(".sock") }
        #expect(left.isEmpty)

        let open = "/tmp/clt-open-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        chmod(open, 0o777)
        defer { try? FileManager.default.removeItem(atPath: open) }
        let directory = daemon.directory + "-second"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let refused = try Self.startDaemon(["--data-dir", directory, "--socket", open + "/ledger.sock"])
        #expect(refused.status != 0)
        #expect(refused.error.contains("socket directory"))
        #expect(!FileManager.default.fileExists(atPath: open + "/ledger.sock"))
    }

    /// The log copied over itself when an older data directory is upgraded (the stream index it kept
    /// dropped, then the file compacted) stays the owner's alone, as every file the daemon creates: it
    /// became `0644`.
    @Test func everyFileOfTheDataDirectoryIsTheOwnersAlone() throws {
        let previous = umask(0o022)
        defer { umask(previous) }
        let daemon = try DaemonHarness()
        try daemon.call("contacts.create", ["name": "Ann"])
        daemon.stop()
        // The stream index in the log's part, as a data directory of an earlier version holds it.
        do {
            let environment = try Environment(directory: daemon.directory)
            let tables = try environment.openTables([EventLog.streamIndexName])
            let index = try #require(tables[EventLog.streamIndexName])
            try environment.write { try $0.put(index, key: [1], value: [1]) }
        }
        try daemon.start()
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 1)
        var shared: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: daemon.directory)
        while let name = enumerator?.nextObject() as? String {
            var info = stat()
            guard lstat(daemon.directory + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            if info.st_mode & 0o077 != 0 { shared.append("\(name) \(String(info.st_mode & 0o777, radix: 8))") }
        }
        #expect(shared.isEmpty, "\(shared)")
    }
}
