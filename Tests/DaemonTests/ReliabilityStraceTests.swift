// ContactLedger — daemon tests: the order power loss depends on.
import Foundation
import TestSupport
import RPC
import Testing

/// A SIGKILLed process keeps its page cache, so the kill tests cannot see a missing fsync. This test
/// traces the real daemon's system calls and checks that every answer to a command is written to its
/// client only after an fdatasync/fsync of `data.mdb` (and LMDB's synchronous meta-page write) that
/// completed after the previous answer.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(3)))
struct ReliabilityStraceTests {
    /// Whether `strace` exists and may trace (ptrace can be refused in containers).
    static let straceCanAttach: Bool = {
        let probe = ChildProcess()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
        probe.arguments = ["-f", "-o", "/dev/null", "/bin/true"]
        probe.standardError = FileHandle.nullDevice
        probe.standardOutput = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// One traced system call, in the order strace saw it.
    struct Call {
        var index: Int
        var pid: Int
        var name: String
        var arguments: String
        var result: Int?
        /// The line that shows the call's entry (for answers) and the one that shows its completion.
        var entryIndex: Int
        var exitIndex: Int
    }

    /// Parses `strace -f` output, joining `<unfinished ...>` and `<... resumed>` halves.
    static func parse(_ text: String) -> [Call] {
        var calls: [Call] = []
        var pending: [Int: (name: String, arguments: String, entry: Int)] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        for (index, raw) in lines.enumerated() {
            var line = Substring(raw)
            guard let space = line.firstIndex(of: " "), let pid = Int(line[..<space]) else { continue }
            line = line[line.index(after: space)...].drop(while: { $0 == " " })
            // Skip the -tt timestamp.
            if let first = line.first, first.isNumber, let next = line.firstIndex(of: " ") { line = line[line.index(after: next)...] }
            if line.hasPrefix("<... ") {
                // `<... write resumed>rest) = 12`
                guard let nameEnd = line.range(of: " resumed>") else { continue }
                let name = String(line[line.index(line.startIndex, offsetBy: 5)..<nameEnd.lowerBound])
                let rest = String(line[nameEnd.upperBound...])
                guard let started = pending.removeValue(forKey: pid), started.name == name else { continue }
                calls.append(Call(index: calls.count, pid: pid, name: name, arguments: started.arguments + rest, result: Self.result(rest), entryIndex: started.entry, exitIndex: index))
                continue
            }
            guard let paren = line.firstIndex(of: "(") else { continue }
            let name = String(line[..<paren])
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            let arguments = String(line[line.index(after: paren)...])
            if arguments.hasSuffix("<unfinished ...>") {
                pending[pid] = (name, String(arguments.dropLast("<unfinished ...>".count)), index)
                continue
            }
            calls.append(Call(index: calls.count, pid: pid, name: name, arguments: arguments, result: Self.result(arguments), entryIndex: index, exitIndex: index))
        }
        return calls
    }

    /// The return value: what follows the last `)`, padding and `= ` (strace pads short calls).
    static func result(_ text: String) -> Int? {
        guard let range = text.range(of: " = ", options: .backwards),
            text[..<range.lowerBound].trimmingCharacters(in: .whitespaces).hasSuffix(")")
        else { return nil }
        return Int(text[range.upperBound...].prefix { $0 == "-" || $0.isNumber })
    }

    /// The first integer argument (a descriptor).
    static func descriptor(_ arguments: String) -> Int? {
        Int(arguments.prefix { $0.isNumber })
    }

    @Test(.enabled(if: Self.straceCanAttach, "strace is missing or cannot attach (ptrace refused)"))
    func everyAnswerFollowsTheSyncOfItsCommit() throws {
        let directory = "/tmp/clt-st-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o750)
        let tracePath = directory + ".trace"
        let logPath = directory + ".log"
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: tracePath)
            try? FileManager.default.removeItem(atPath: logPath)
        }
        let socketPath = directory + "/ledger.sock"
        let strace = ChildProcess()
        strace.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
        strace.arguments = [
            "-f", "-tt", "-s", "65536", "-o", tracePath,
            "-e", "trace=open,openat,close,fdatasync,fsync,msync,write,writev,sendmsg,sendto,pwrite64,pwritev,pwritev2",
            DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd").path, "--data-dir", directory,
        ]
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        strace.standardError = FileHandle(forWritingAtPath: logPath)
        strace.standardOutput = FileHandle.nullDevice
        try strace.run()
        defer {
            if strace.isRunning {
                Foundation.kill(strace.processIdentifier, SIGKILL)
                strace.waitUntilExit()
            }
        }
        // Wait for the socket to answer.
        var client: RPCClient?
        let deadline = Date().addingTimeInterval(60)
        while client == nil, Date() < deadline, strace.isRunning {
            if let candidate = try? RPCClient(socketPath: socketPath), (try? candidate.call("system.health")) != nil { client = candidate }
            else { usleep(50_000) }
        }
        let connection = try #require(client, "the traced daemon did not answer: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        let creates = 20
        var uuids: [String] = []
        for index in 0..<creates {
            let answer = try connection.call("contacts.create", ["name": .string("traced \(index)"), "urns": [.string("ext:traced\(index)")]])
            uuids.append(try #require(answer.string("uuid")))
        }
        // SIGTERM the daemon (strace's child), then let strace finish writing.
        let daemonPID = try #require(Self.children(of: strace.processIdentifier).first, "no traced child")
        Foundation.kill(daemonPID, SIGTERM)
        strace.waitUntilExit()

        let trace = try String(contentsOfFile: tracePath, encoding: .utf8)
        let calls = Self.parse(trace)
        // The descriptors of the log's data.mdb; LMDB writes the meta page through a second, O_DSYNC one.
        // The read models' data.mdb (under readmodels/) is rebuildable and deliberately not synced.
        var dataDescriptors: Set<Int> = []
        var metaDescriptors: Set<Int> = []
        var events: [(line: Int, kind: String, detail: String)] = []
        for call in calls {
            switch call.name {
            case "open", "openat":
                guard call.arguments.contains("data.mdb\""), !call.arguments.contains("/readmodels/"), let fd = call.result, fd >= 0 else { continue }
                dataDescriptors.insert(fd)
                if call.arguments.contains("O_DSYNC") || call.arguments.contains("O_SYNC") { metaDescriptors.insert(fd) }
            case "close":
                if let fd = Self.descriptor(call.arguments) {
                    dataDescriptors.remove(fd)
                    metaDescriptors.remove(fd)
                }
            case "fdatasync", "fsync":
                if let fd = Self.descriptor(call.arguments), dataDescriptors.contains(fd), call.result == 0 {
                    events.append((call.exitIndex, "sync", "\(call.name)(\(fd))"))
                }
            case "msync":
                if call.result == 0 { events.append((call.exitIndex, "sync", "msync")) }
            case "pwrite64", "pwritev", "pwritev2":
                if let fd = Self.descriptor(call.arguments), metaDescriptors.contains(fd), (call.result ?? -1) > 0 {
                    events.append((call.exitIndex, "meta", "\(call.name)(\(fd))"))
                }
            case "write", "writev", "sendmsg", "sendto":
                guard let fd = Self.descriptor(call.arguments), !dataDescriptors.contains(fd), fd > 2 else { continue }
                if call.arguments.contains(#"result\""#), call.arguments.contains(#"uuid\""#) {
                    events.append((call.entryIndex, "answer", "\(call.name)(\(fd))"))
                }
            default:
                continue
            }
        }
        events.sort { $0.line < $1.line }
        #expect(!dataDescriptors.isEmpty, "no open of data.mdb in the trace")
        let answers = events.filter { $0.kind == "answer" }
        #expect(answers.count == creates, "expected \(creates) answers to contacts.create in the trace, found \(answers.count)")
        var syncedSinceAnswer = false
        var metaSinceAnswer = false
        var checked = 0
        for event in events {
            switch event.kind {
            case "sync": syncedSinceAnswer = true
            case "meta": metaSinceAnswer = true
            default:
                checked += 1
                #expect(syncedSinceAnswer, "answer \(checked) (\(event.detail), trace line \(event.line + 1)) was written with no fdatasync/fsync of data.mdb completed since the previous answer")
                if !metaDescriptors.isEmpty {
                    #expect(metaSinceAnswer, "answer \(checked) (\(event.detail), trace line \(event.line + 1)) was written before LMDB's synchronous meta-page write completed")
                }
                syncedSinceAnswer = false
                metaSinceAnswer = false
            }
        }
        print("strace ordering: \(checked) answers, \(events.filter { $0.kind == "sync" }.count) syncs of data.mdb, \(events.filter { $0.kind == "meta" }.count) O_DSYNC meta writes, data.mdb fds \(dataDescriptors.sorted()) (meta \(metaDescriptors.sorted()))")

        // The traced run's writes are all there on a plain restart.
        let daemon = try DaemonHarness(directory: directory)
        for uuid in uuids { #expect(try daemon.call("contacts.get", ["uuid": .string(uuid)]).string("uuid") == uuid) }
    }

    /// The child processes of `pid`.
    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task -> [Int32] in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }
}
