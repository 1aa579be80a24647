// ContactLedger — command-line client.
import ArgumentParser
import Foundation
import RPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ContactLedgerCommand {
    /// `doctor`: checks a daemon and its data directory, one line per check.
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Checks the daemon, its socket, storage and read models, and the data directory's disk.",
            discussion: """
                Checks, each reported as ok, warn or FAIL:
                  data_dir     the directory exists and no other user can write it (the daemon refuses that)
                  disk         free space on the data directory's file system (FAIL under 2% or 100 MiB, warn under 10%)
                  socket       the socket (a symbolic link followed) exists, is a socket, and who may connect (warn if anyone may)
                  daemon       the daemon answers system.health on the socket
                  map          LMDB map usage from system.stats (warn at 90%: the map doubles when full;
                               a map at --max-map-size: warn at 60%, FAIL at 75%, where commands are refused)
                  readers      LMDB reader slots in use (warn at 75%, FAIL at 90%)
                  projections  read-model state and lag from projections.status (FAIL when stale)
                  chain        with --verify: the hash chain (ledger.verify; reads the whole log)
                The data directory is --data-dir, else $CONTACTLEDGER_DATA_DIR, else the socket's directory.
                Exit status: 0 when nothing failed (warnings allowed, unless --strict), 4 when a check failed.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("The daemon's data directory (default: $CONTACTLEDGER_DATA_DIR, else the socket's directory).", valueName: "path"))
        var dataDir: String?

        @Flag(help: "Also verify the hash chain (ledger.verify), which reads the whole log.")
        var verify = false

        @Flag(help: "Treat warnings as failures.")
        var strict = false

        /// One check's outcome.
        struct Check {
            enum Status: String {
                case ok
                case warn
                case fail
                case skip
            }

            var name: String
            var status: Status
            var detail: String

            var json: JSONValue {
                ["name": .string(self.name), "status": .string(self.status.rawValue), "detail": .string(self.detail)]
            }
        }

        /// The data directory to check, beside `socket` unless given.
        func dataDirectory(socket: String) -> String {
            if let dataDir = self.dataDir { return dataDir }
            if let path = ProcessInfo.processInfo.environment["CONTACTLEDGER_DATA_DIR"], !path.isEmpty { return path }
            let directory = (socket as NSString).deletingLastPathComponent
            return directory.isEmpty ? "." : directory
        }

        func run() throws {
            // Routed as every call is: a shard map with no socket for it fails as `health` does (it checked
            // ./.contactledger/ledger.sock, which the map never names).
            let socket = try self.global.reportingUnroutableCalls { try self.global.socketPath(for: "doctor") }
            let dataDirectory = self.dataDirectory(socket: socket)
            var checks = [Self.checkDataDirectory(dataDirectory), Self.checkDisk(dataDirectory), Self.checkSocket(socket)]
            checks += self.checkDaemon(socket: socket)
            // Each check counted once, by its own status; --strict changes the exit status and `ok`, not
            // the counts (a warning was counted as a failure too: "6 ok, 1 warning, 1 failed" of 7 checks).
            let failed = checks.filter { $0.status == .fail }.count
            let warnings = checks.filter { $0.status == .warn }.count
            let isOK = failed == 0 && !(self.strict && warnings > 0)
            if self.global.json {
                Output.printJSON([
                    "ok": .bool(isOK),
                    "failed": .integer(Int64(failed)),
                    "warnings": .integer(Int64(warnings)),
                    "checks": .array(checks.map(\.json)),
                ])
            } else {
                let width = checks.map(\.name.count).max() ?? 0
                for check in checks {
                    print("\(Self.label(check.status))  \(Output.pad(check.name, to: width))  \(check.detail)")
                }
                let passed = checks.filter { $0.status == .ok }.count
                let strictness = self.strict && warnings > 0 ? " (--strict: warnings fail)" : ""
                print("doctor: \(passed) ok, \(warnings) warning\(warnings == 1 ? "" : "s"), \(failed) failed\(strictness)")
            }
            if !isOK { throw ExitCode.doctorFailed }
        }

        private static func label(_ status: Check.Status) -> String {
            let (text, colour) =
                switch status {
                case .ok: ("ok  ", "32")
                case .warn: ("warn", "33")
                case .fail: ("FAIL", "31")
                case .skip: ("skip", "2")
                }
            return Output.isColourEnabled ? "\u{1B}[\(colour)m\(text)\u{1B}[0m" : text
        }

        // MARK: Files

        private static func checkDataDirectory(_ path: String) -> Check {
            var info = stat()
            guard stat(path, &info) == 0 else {
                return Check(name: "data_dir", status: .fail, detail: "\(path): \(String(cString: strerror(errno)))")
            }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                return Check(name: "data_dir", status: .fail, detail: "\(path) is not a directory")
            }
            let mode = String(info.st_mode & 0o7777, radix: 8)
            if info.st_mode & 0o002 != 0 {
                return Check(name: "data_dir", status: .fail, detail: "\(path) is writable by every user (mode \(mode)); the daemon refuses it: chmod o-w")
            }
            let hasData = FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("data.mdb"))
            if !hasData, access(path, R_OK | X_OK) == 0 {
                return Check(name: "data_dir", status: .warn, detail: "\(path) (mode \(mode)) holds no data.mdb: has the daemon ever run here?")
            }
            return Check(name: "data_dir", status: .ok, detail: "\(path), mode \(mode), owner uid \(info.st_uid)")
        }

        private static func checkDisk(_ path: String) -> Check {
            var info = statvfs()
            guard statvfs(path, &info) == 0 else {
                return Check(name: "disk", status: .fail, detail: "cannot read the file system of \(path): \(String(cString: strerror(errno)))")
            }
            let blockSize = UInt64(info.f_frsize == 0 ? info.f_bsize : info.f_frsize)
            let free = UInt64(info.f_bavail) * blockSize
            let total = max(UInt64(info.f_blocks) * blockSize, 1)
            let ratio = Double(free) / Double(total)
            let detail = "\(Self.bytes(free)) free of \(Self.bytes(total)) (\(Int((ratio * 100).rounded()))%) on \(path)'s file system"
            if ratio < 0.02 || free < 100 << 20 {
                return Check(name: "disk", status: .fail, detail: detail + "; writes fail with -32005 when it is full")
            }
            return Check(name: "disk", status: ratio < 0.10 ? .warn : .ok, detail: detail)
        }

        private static func checkSocket(_ path: String) -> Check {
            var info = stat()
            // stat, not lstat: a symbolic link to the socket is followed by every call (connect follows
            // it), so it was reported "not a socket" while the daemon answered through it.
            guard stat(path, &info) == 0 else {
                // A directory of the path this user may not search hides the socket: not the same advice.
                guard errno != EACCES else {
                    return Check(name: "socket", status: .fail, detail: "cannot reach \(path): a directory of its path denies this user (the socket's group, --socket-group)")
                }
                return Check(name: "socket", status: .fail, detail: "no socket at \(path): is contactledgerd running? (--socket, $CONTACTLEDGER_SOCKET)")
            }
            if let problem = SocketPathProblem(path: path) {
                return Check(name: "socket", status: .fail, detail: "\(problem)")
            }
            let mode = String(info.st_mode & 0o777, radix: 8)
            if info.st_mode & 0o002 != 0 {
                return Check(name: "socket", status: .warn, detail: "\(path), mode \(mode): every user on the host may connect (see --socket-mode and --grant)")
            }
            return Check(name: "socket", status: .ok, detail: "\(path), mode \(mode), owner uid \(info.st_uid) gid \(info.st_gid)")
        }

        // MARK: The daemon

        /// The daemon's checks, through `socket` (where its calls are routed).
        private func checkDaemon(socket: String) -> [Check] {
            let names = ["map", "readers", "projections"] + (self.verify ? ["chain"] : [])
            let connection: LedgerConnection
            let health: JSONValue
            do {
                connection = try LedgerConnection(options: self.global)
                health = try connection.call("system.health")
            } catch {
                let detail: String
                switch error {
                case let error as RPCError: detail = "system.health answered \(error.code): \(error.message)"
                case RPCClient.TransportError.connectFailed(let code) where code == ENOENT:
                    detail = "no socket at \(socket): is the daemon running?"
                case RPCClient.TransportError.connectFailed(let code) where code == EACCES:
                    detail = "cannot open \(socket): \(GlobalOptions.socketPermissionHint)"
                case RPCClient.TransportError.connectFailed(let code) where code == ECONNREFUSED:
                    detail = "nobody listens on \(socket) (a socket left by a daemon that died?)"
                case let error as RPCClient.TransportError:
                    detail = "cannot talk to \(socket): \(error)"
                default: detail = "\(error)"
                }
                return [Check(name: "daemon", status: .fail, detail: detail)]
                    + names.map { Check(name: $0, status: .skip, detail: "needs the daemon") }
            }
            var checks = [
                Check(
                    name: "daemon", status: .ok,
                    detail: "version \(Output.text(health["version"])), head_seq \(Output.text(health["head_seq"])), up \(Output.text(health["uptime_s"]))s"
                )
            ]
            checks += self.call(connection, "system.stats", names: ["map", "readers"]) { stats in
                [Self.mapCheck(stats), Self.readersCheck(stats)]
            }
            checks += self.call(connection, "projections.status", names: ["projections"]) { status in
                [Self.projectionCheck(status)]
            }
            if self.verify {
                checks += self.call(connection, "ledger.verify", names: ["chain"]) { result in
                    if result["verified"] == .bool(true) {
                        return [Check(name: "chain", status: .ok, detail: "verified through seq \(Output.text(result["head_seq"]))")]
                    }
                    return [Check(name: "chain", status: .fail, detail: "broken at seq \(Output.text(result["broken_seq"])): run contactledger verify")]
                }
            }
            return checks
        }

        /// Calls `method` and turns its result into checks; a failed call fails each of `names`, and one
        /// this peer's grants do not allow (-32007) skips them: the daemon is not at fault.
        private func call(_ connection: LedgerConnection, _ method: String, names: [String], _ body: (JSONValue) -> [Check]) -> [Check] {
            do {
                return body(try connection.call(method))
            } catch let error as RPCError where error.code == -32007 {
                return names.map { Check(name: $0, status: .skip, detail: "this user's grants do not allow \(method) (a grant without a workspace limit does)") }
            } catch let error as RPCError {
                return names.map { Check(name: $0, status: .fail, detail: "\(method) answered \(error.code): \(error.message)") }
            } catch {
                return names.map { Check(name: $0, status: .fail, detail: "\(method) failed: \(error)") }
            }
        }

        private static func mapCheck(_ stats: JSONValue) -> Check {
            let used = stats["map_used"]?.integerValue ?? 0
            let size = stats["map_size"]?.integerValue ?? 0
            let ratio = size > 0 ? Double(used) / Double(size) : 0
            let detail = "\(Self.bytes(UInt64(max(used, 0)))) used of a \(Self.bytes(UInt64(max(size, 0)))) map (\(Int((ratio * 100).rounded()))%)"
            if let maximum = stats["map_max_size"]?.integerValue, size >= maximum {
                // At its limit the map no longer grows: past three quarters, commands are refused.
                let status: Check.Status = ratio >= 0.75 ? .fail : ratio >= 0.6 ? .warn : .ok
                let note = ratio >= 0.75 ? "; at --max-map-size: commands are refused (-32005), restart with a larger limit"
                    : ratio >= 0.6 ? "; at --max-map-size: commands are refused past 75%" : ""
                return Check(name: "map", status: status, detail: detail + note)
            }
            return Check(name: "map", status: ratio >= 0.9 ? .warn : .ok, detail: ratio >= 0.9 ? detail + "; it doubles on the next full commit, up to --max-map-size" : detail)
        }

        private static func readersCheck(_ stats: JSONValue) -> Check {
            let used = stats["readers"]?["used"]?.integerValue ?? 0
            let maximum = stats["readers"]?["max"]?.integerValue ?? 0
            let ratio = maximum > 0 ? Double(used) / Double(maximum) : 0
            let status: Check.Status = ratio >= 0.9 ? .fail : ratio >= 0.75 ? .warn : .ok
            return Check(name: "readers", status: status, detail: "\(used) of \(maximum) reader slots in use")
        }

        private static func projectionCheck(_ status: JSONValue) -> Check {
            guard let projection = status["projections"]?.arrayValue?.first else {
                return Check(name: "projections", status: .fail, detail: "projections.status listed no read model")
            }
            let name = Output.text(projection["name"])
            let state = projection["state"]?.stringValue ?? "unknown"
            let lag = projection["lag"]?["events"]?.integerValue ?? 0
            switch state {
            case "ready" where lag == 0:
                return Check(name: "projections", status: .ok, detail: "\(name) ready at seq \(Output.text(projection["position"]))")
            case "ready":
                return Check(name: "projections", status: .warn, detail: "\(name) ready but \(lag) events behind the log")
            case "rebuilding":
                let progress = Int(((projection["progress"]?.doubleValue ?? 0) * 100).rounded())
                return Check(name: "projections", status: .warn, detail: "\(name) rebuilding, \(progress)% done; answers come from the previous generation")
            default:
                return Check(name: "projections", status: .fail, detail: "\(name) is \(state) (\(lag) events behind): contactledger projections rebuild \(name)")
            }
        }

        /// `12.3 GiB`.
        static func bytes(_ count: UInt64) -> String {
            let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
            var value = Double(count)
            var unit = 0
            while value >= 1024, unit < units.count - 1 {
                value /= 1024
                unit += 1
            }
            return unit == 0 ? "\(count) B" : "\(String(format: "%.1f", value)) \(units[unit])"
        }
    }
}

extension ExitCode {
    /// `doctor` found a problem.
    static let doctorFailed = ExitCode(4)
}
