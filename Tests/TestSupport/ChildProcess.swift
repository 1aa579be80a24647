// ContactLedger — shared test support.
import CLedgerSys
import Foundation

/// Starts a program as a child process and waits for it: the part of Foundation's `Process` that the
/// tests use, on `posix_spawn`.
///
/// Foundation's `Process.run()` on Linux (Swift 6.3.1) finds the highest open descriptor by copying the
/// whole 256-byte name of every `/proc/self/fd` entry, past the end of the C library's directory buffer:
/// when the page after it is unmapped the test process dies ("Bad pointer dereference" in `memcpy`,
/// swift-corelibs-foundation PR #5472). This launcher has the C library close the child's descriptors
/// instead (`closefrom` in the child) and never reads `/proc/self/fd`.
///
/// Set the properties, then ``run()``. The child gets `executableURL`'s path as `argv[0]` followed by
/// ``arguments``; ``environment`` as its whole environment (the parent's when nil);
/// ``currentDirectoryURL`` as its working directory (the parent's when nil); standard input, output and
/// error as set (see ``ChildProcessStream``: the parent's by default, `/dev/null` when nil); no other
/// descriptor of the parent's, so a pipe another test is reading never gains a writer that keeps it from
/// its end of file; and no blocked signal. Unlike Foundation it stays in the parent's process group: no test signals a group,
/// and whatever ends the test run's group (a CI job's timeout) ends the children too.
///
/// A thread of its own reaps the child as soon as it exits, as Foundation's does, so ``isRunning``,
/// ``waitUntilExit()`` and the termination properties may be used from any thread, and the status is
/// taken from the system once.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: the configuration is set on one thread before `run()`; what changes afterwards (the
    // exit) is behind `exit`'s lock.

    /// How the child ended.
    public enum TerminationReason: Sendable {
        /// It exited; ``ChildProcess/terminationStatus`` is its exit code.
        case exit
        /// A signal ended it; ``ChildProcess/terminationStatus`` is the signal's number.
        case uncaughtSignal
    }

    /// `posix_spawn` or a step before it failed.
    public struct SpawnError: Error, CustomStringConvertible {
        /// The program that did not start.
        public let path: String
        /// What failed and the error number's text.
        public let description: String

        init(_ path: String, _ step: String, _ code: Int32) {
            self.path = path
            self.description = "cannot start \(path): \(step): \(String(cString: strerror(code)))"
        }
    }

    /// The program.
    public var executableURL: URL?
    /// The arguments after `argv[0]`.
    public var arguments: [String] = []
    /// The child's whole environment; the parent's when nil.
    public var environment: [String: String]?
    /// The child's working directory; the parent's when nil.
    public var currentDirectoryURL: URL?
    /// The child's standard input: the parent's by default, `/dev/null` when nil.
    public var standardInput: (any ChildProcessStream)? = FileHandle.standardInput
    /// The child's standard output: the parent's by default, `/dev/null` when nil.
    public var standardOutput: (any ChildProcessStream)? = FileHandle.standardOutput
    /// The child's standard error: the parent's by default, `/dev/null` when nil.
    public var standardError: (any ChildProcessStream)? = FileHandle.standardError

    /// The child's process id; 0 until ``run()`` has started it.
    public private(set) var processIdentifier: pid_t = 0

    private let exit = ExitRecord()

    public init() {}

    /// Starts the child.
    ///
    /// - Throws: ``SpawnError`` when it cannot start (the program is missing or not executable, a
    ///   descriptor or the working directory is wrong).
    public func run() throws {
        precondition(self.processIdentifier == 0, "the child was already started")
        guard let path = self.executableURL?.path else { throw SpawnError("(no executable)", "executableURL", EINVAL) }
        var actions = posix_spawn_file_actions_t()
        try Self.check(posix_spawn_file_actions_init(&actions), path, "file actions")
        defer { posix_spawn_file_actions_destroy(&actions) }
        var nullDevice: Int32 = -1
        defer { if nullDevice >= 0 { close(nullDevice) } }
        // The child's ends of pipes: the parent closes its copies once the child has them, or a reader
        // of the pipe would wait for an end of file as long as the parent lives.
        var parentCloses: [ObjectIdentifier: FileHandle] = [:]
        let streams: [(Int32, (any ChildProcessStream)?)] = [
            (STDIN_FILENO, self.standardInput), (STDOUT_FILENO, self.standardOutput), (STDERR_FILENO, self.standardError),
        ]
        for (target, stream) in streams {
            let source: Int32
            switch stream {
            case let pipe as Pipe:
                let childEnd = target == STDIN_FILENO ? pipe.fileHandleForReading : pipe.fileHandleForWriting
                source = childEnd.fileDescriptor
                parentCloses[ObjectIdentifier(childEnd)] = childEnd
            case let handle as FileHandle where handle !== FileHandle.nullDevice:
                source = handle.fileDescriptor
            case nil, is FileHandle:
                if nullDevice < 0 {
                    nullDevice = open("/dev/null", O_RDWR | O_CLOEXEC)
                    guard nullDevice >= 0 else { throw SpawnError(path, "/dev/null", errno) }
                }
                source = nullDevice
            default:
                preconditionFailure("a child's standard stream is a Pipe or a FileHandle")
            }
            // A stream that already is the target descriptor (the parent's own) is inherited as it is.
            if source != target {
                try Self.check(posix_spawn_file_actions_adddup2(&actions, source, target), path, "descriptor \(target)")
            }
        }
        try Self.check(CLedgerSys_spawnAddCloseFrom(&actions, 3), path, "closefrom")
        if let directory = self.currentDirectoryURL?.path {
            try Self.check(CLedgerSys_spawnAddChangeDirectory(&actions, directory), path, "working directory")
        }
        // An empty signal mask, as Foundation gives: the calling thread's would be inherited through exec,
        // and the threads of Swift's concurrency pool (dispatch workers) block signals such as SIGTERM, so
        // a child started from one would never see `terminate()`. Ignored signals stay ignored, as there.
        var attributes = posix_spawnattr_t()
        try Self.check(posix_spawnattr_init(&attributes), path, "attributes")
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        try Self.check(posix_spawnattr_setsigmask(&attributes, &noSignals), path, "signal mask")
        try Self.check(posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK)), path, "attributes")
        let environment = (self.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let spawned = Self.withCStrings([path] + self.arguments) { argv in
            Self.withCStrings(environment) { envp in posix_spawn(&pid, path, &actions, &attributes, argv, envp) }
        }
        // glibc's posix_spawn reports a failed exec (a missing program) here, not as an exit status.
        try Self.check(spawned, path, "posix_spawn")
        for handle in parentCloses.values { try? handle.close() }
        self.processIdentifier = pid
        let exit = self.exit
        let reaper = Thread { [pid] in Self.reap(pid, into: exit) }
        reaper.stackSize = 1 << 16
        reaper.start()
    }

    /// What ``runToEnd()`` gathered: how the child ended and what it wrote.
    public struct Finished: Sendable {
        public var status: Int32
        public var reason: TerminationReason
        public var output: String
        public var error: String
    }

    /// Starts the child with its standard output and error piped, reads both to their ends, and waits
    /// for it to exit. For children that write little to standard error: it is read after standard
    /// output ends, so more than a pipe's buffer of it (64 KiB) would block the child.
    public func runToEnd() throws -> Finished {
        let output = Pipe()
        let error = Pipe()
        self.standardOutput = output
        self.standardError = error
        try self.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        self.waitUntilExit()
        return Finished(
            status: self.terminationStatus, reason: self.terminationReason,
            output: String(decoding: out, as: UTF8.self), error: String(decoding: err, as: UTF8.self)
        )
    }

    /// Whether the child was started and has not been reaped yet.
    public var isRunning: Bool { self.processIdentifier != 0 && self.exit.value == nil }

    /// Blocks until the child has exited and been reaped.
    public func waitUntilExit() {
        precondition(self.processIdentifier != 0, "the child was not started")
        _ = self.exit.wait()
    }

    /// The exit code, or the number of the signal that ended the child (see ``terminationReason``).
    public var terminationStatus: Int32 { self.ended.status }

    /// Whether the child exited or a signal ended it.
    public var terminationReason: TerminationReason { self.ended.reason }

    /// Sends SIGTERM, unless the child has already been reaped (its pid may belong to another process).
    public func terminate() {
        precondition(self.processIdentifier != 0, "the child was not started")
        let pid = self.processIdentifier
        self.exit.whileRunning { _ = kill(pid, SIGTERM) }
    }

    private var ended: ExitRecord.Exit {
        guard let exit = self.exit.value else { preconditionFailure("the child is still running") }
        return exit
    }

    /// Waits for `pid` to exit, then reaps it and records how it ended.
    private static func reap(_ pid: pid_t, into record: ExitRecord) {
        // Waiting without reaping keeps the pid this child's (a zombie) until the status is recorded, so a
        // signal sent while the record says running cannot reach a process that reused the pid.
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1, errno == EINTR {}
        record.finish {
            var status: Int32 = 0
            var reaped: pid_t
            repeat { reaped = waitpid(pid, &status, 0) } while reaped == -1 && errno == EINTR
            // Reaped by someone else (a `waitpid(-1)` elsewhere in the process): the status is lost.
            guard reaped == pid else { return ExitRecord.Exit(status: -1, reason: .exit) }
            // WIFEXITED/WTERMSIG as glibc defines them (macros Swift cannot import); no stops are asked for.
            let signal = status & 0x7f
            return signal == 0
                ? ExitRecord.Exit(status: (status >> 8) & 0xff, reason: .exit) : ExitRecord.Exit(status: signal, reason: .uncaughtSignal)
        }
    }

    /// Calls `body` with a NULL-terminated array of C copies of `strings`.
    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) } + [nil]
        defer { for copy in copies { free(copy) } }
        return copies.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    private static func check(_ code: Int32, _ path: String, _ step: String) throws {
        guard code == 0 else { throw SpawnError(path, step, code) }
    }
}

/// How a ``ChildProcess`` ended, once its reaper has recorded it; waiters block on it.
private final class ExitRecord: @unchecked Sendable {
    // @unchecked: `exit` is read and written only under `condition`.
    struct Exit {
        var status: Int32
        var reason: ChildProcess.TerminationReason
    }

    private let condition = NSCondition()
    private var exit: Exit?

    /// The recorded exit; nil while the child has not been reaped.
    var value: Exit? {
        self.condition.lock()
        defer { self.condition.unlock() }
        return self.exit
    }

    /// Blocks until the exit is recorded.
    func wait() -> Exit {
        self.condition.lock()
        defer { self.condition.unlock() }
        while true {
            if let exit = self.exit { return exit }
            self.condition.wait()
        }
    }

    /// Runs `body` (which reaps) under the lock, records what it returns and wakes every waiter.
    func finish(_ body: () -> Exit) {
        self.condition.lock()
        defer { self.condition.unlock() }
        self.exit = body()
        self.condition.broadcast()
    }

    /// Runs `body` under the lock if nothing is recorded yet: the child's pid is still its own.
    func whileRunning(_ body: () -> Void) {
        self.condition.lock()
        defer { self.condition.unlock() }
        if self.exit == nil { body() }
    }
}
