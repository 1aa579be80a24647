// ContactLedger — benchmarks.
import Foundation

/// CPU time as the kernel accounts it: a process's (all its threads, user and system) and the calling
/// thread's own.
///
/// On a shared VM, throughput moves with the neighbours' load by more than most changes to the daemon
/// do. CPU time per operation moves far less, so the appends benchmark prints it beside the rates.
enum CPUTime {
    /// User plus system seconds the process `pid` has used so far, from `/proc/<pid>/stat`; nil off Linux.
    static func process(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let nameEnd = text.lastIndex(of: ")")
        else { return nil }
        // The fields after the command name (which may hold spaces, hence its last ')'): the state is
        // field 3 of the line, utime field 14 and stime field 15, in clock ticks.
        let fields = text[text.index(after: nameEnd)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
    }

    /// Microseconds of CPU per operation between two readings of ``process(_:)``; nil without both
    /// readings or without operations.
    static func microsecondsPerOperation(from before: Double?, to after: Double?, operations: Int) -> Double? {
        guard let before, let after, operations > 0 else { return nil }
        return (after - before) * 1_000_000 / Double(operations)
    }

    /// CPU seconds the calling thread has used so far, user and system.
    static func currentThread() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }
}
