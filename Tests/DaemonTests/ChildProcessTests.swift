// ContactLedger — daemon tests: the shared test support's child-process launcher.
import Foundation
import TestSupport
import Testing

/// The child-process launcher the tests start the daemon, the CLI, Python and nats-server with.
///
/// On threads of their own (``OwnThreadsTrait``): they block on children and pipes, and on Swift's
/// cooperative pool (two threads on CI) they held other suites back and hit their time limit.
@Suite(.ownThreads, .timeLimit(.minutes(1)))
struct ChildProcessTests {
    /// A `sleep 30`, not started: a child that runs until it is told to stop.
    func sleeper() -> ChildProcess {
        let sleeper = ChildProcess()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        return sleeper
    }

    /// Runs `/bin/sh -c script` to its end with both outputs piped; its status, reason and outputs.
    func shell(
        _ script: String, environment: [String: String]? = nil, directory: String? = nil
    ) throws -> (status: Int32, reason: ChildProcess.TerminationReason, output: String, error: String) {
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", script]
        child.environment = environment
        child.currentDirectoryURL = directory.map { URL(fileURLWithPath: $0) }
        let finished = try child.runToEnd()
        return (finished.status, finished.reason, finished.output, finished.error)
    }

    /// `path` with every symbolic link resolved, as `pwd -P` prints it.
    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    @Test func theExitCodeAndBothOutputsComeBack() throws {
        let run = try self.shell("echo out; echo err >&2; exit 3")
        #expect(run.status == 3)
        #expect(run.reason == .exit)
        #expect(run.output == "out\n")
        #expect(run.error == "err\n")
        #expect(try self.shell("true").status == 0)
    }

    @Test func aSignalIsTheStatusAndTheReason() throws {
        let killed = try self.shell("kill -KILL $$")
        #expect(killed.status == SIGKILL)
        #expect(killed.reason == .uncaughtSignal)

        let sleeper = self.sleeper()
        try sleeper.run()
        #expect(sleeper.isRunning)
        #expect(sleeper.processIdentifier > 0)
        sleeper.terminate()
        sleeper.waitUntilExit()
        #expect(!sleeper.isRunning)
        #expect(sleeper.terminationStatus == SIGTERM)
        #expect(sleeper.terminationReason == .uncaughtSignal)
        // Once reaped, terminate sends nothing (the pid may be another process's by now).
        sleeper.terminate()
    }

    /// A child started from a thread that blocks SIGTERM (as the dispatch threads of Swift's concurrency
    /// pool do) blocks no signal: `terminate()` ends it.
    @Test func noSignalIsBlockedInTheChild() throws {
        let result = ResultSlot()
        let done = DispatchSemaphore(value: 0)
        Thread {
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &blocked, nil)
            result.text = (try? self.shell("grep SigBlk /proc/self/status").output) ?? "did not start"
            let sleeper = self.sleeper()
            if (try? sleeper.run()) != nil {
                sleeper.terminate()
                sleeper.waitUntilExit()
                result.append(sleeper.terminationStatus)
            }
            done.signal()
        }.start()
        done.wait()
        #expect(result.text == "SigBlk:\t0000000000000000\n")
        #expect(result.statuses == [SIGTERM])
    }

    /// The environment given is the child's whole environment; the working directory is applied.
    @Test func theEnvironmentIsReplacedAndTheDirectoryApplied() throws {
        let directory = try TemporaryDirectory(prefix: "child-process")
        defer { directory.remove() }
        let env = ChildProcess()
        env.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        env.environment = ["ONLY": "this one", "SECOND": "a=b"]
        let output = Pipe()
        env.standardOutput = output
        try env.run()
        let listed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        env.waitUntilExit()
        #expect(Set(listed.split(separator: "\n")) == ["ONLY=this one", "SECOND=a=b"])

        let inherited = try self.shell("echo \"$HOME\"")
        #expect(inherited.output == (ProcessInfo.processInfo.environment["HOME"] ?? "") + "\n")

        #expect(try self.shell("/bin/pwd -P", directory: directory.path).output == Self.realPath(directory.path) + "\n")
        #expect(try self.shell("/bin/pwd -P").output == Self.realPath(".") + "\n")
    }

    /// Only the standard descriptors reach the child: one the parent opened without O_CLOEXEC does not.
    @Test func noOtherDescriptorIsInherited() throws {
        let opened = open("/dev/null", O_RDONLY)
        try #require(opened >= 0)
        defer { close(opened) }
        // A high number too, so that it cannot be one the shell or ls opens for itself.
        let high = fcntl(opened, F_DUPFD, 300)
        try #require(high >= 300)
        defer { close(high) }
        #expect(fcntl(high, F_GETFD) & FD_CLOEXEC == 0)
        let run = try self.shell("[ -e /proc/self/fd/\(high) ] && echo inherited; ls /proc/self/fd")
        #expect(!run.output.contains("inherited"), "\(run.output)")
        // ls's own: its three standard descriptors and the directory it lists.
        let listed = Set(run.output.split(separator: "\n").compactMap { Int32($0) })
        #expect(listed.isSubset(of: [0, 1, 2, 3]) && listed.isSuperset(of: [0, 1, 2]), "\(listed), the parent's \(opened) and \(high)")
        // /dev/null for a nil stream, the parent's for the default one.
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", "readlink /proc/self/fd/0 /proc/self/fd/2"]
        child.standardInput = nil
        child.standardError = FileHandle.nullDevice
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        let links = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        #expect(links == "/dev/null\n/dev/null\n")
    }

    /// A child started while another test's pipe is open does not hold that pipe's write end: its
    /// reader gets its end of file when the writer exits, however long the other child lives.
    @Test func aPipeEndsWhenItsWriterExitsWhileAnotherChildRuns() throws {
        let output = Pipe()
        let bystander = self.sleeper()
        try bystander.run()
        defer {
            bystander.terminate()
            bystander.waitUntilExit()
        }
        let writer = ChildProcess()
        writer.executableURL = URL(fileURLWithPath: "/bin/echo")
        writer.arguments = ["written"]
        writer.standardOutput = output
        try writer.run()
        let second = self.sleeper()
        try second.run()
        defer {
            second.terminate()
            second.waitUntilExit()
        }
        let read = ResultSlot()
        let done = DispatchSemaphore(value: 0)
        Thread {
            read.text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            done.signal()
        }.start()
        let ended = done.wait(timeout: .now() + 10) == .success
        #expect(ended, "no end of file while the other children live")
        if !ended {
            // Let the reader finish: the children that hold the pipe go.
            bystander.terminate()
            second.terminate()
            done.wait()
        }
        #expect(read.text == "written\n")
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
    }

    /// Waiting and asking from several threads at once: every waiter returns with the same status.
    @Test func severalThreadsWaitForOneChild() throws {
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", "sleep 0.3; exit 7"]
        try child.run()
        let statuses = ResultSlot()
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<4 {
            Thread {
                while child.isRunning { usleep(1_000) }
                child.waitUntilExit()
                statuses.append(child.terminationStatus)
                done.signal()
            }.start()
        }
        for _ in 0..<4 { done.wait() }
        #expect(statuses.statuses == [7, 7, 7, 7])
        #expect(!child.isRunning)
    }

    @Test func aMissingProgramThrows() {
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/nonexistent/program")
        #expect(throws: ChildProcess.SpawnError.self) { try child.run() }
        #expect(!child.isRunning)
    }
}

/// What the tests' threads leave.
private final class ResultSlot: @unchecked Sendable {
    // @unchecked: written under `lock`, or by one thread before a semaphore the reader waits on.
    private let lock = NSLock()
    var text = ""
    private(set) var statuses: [Int32] = []

    func append(_ status: Int32) {
        self.lock.lock()
        defer { self.lock.unlock() }
        self.statuses.append(status)
    }
}
