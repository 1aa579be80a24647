// ContactLedger — parallel work.
import CLedgerSys
import Foundation

/// Starts threads under names the system shows (`top -H`, `perf`, `/proc/PID/task/*/comm`).
///
/// On Linux, Foundation's `Thread.name` names the `Thread` object only: the thread itself kept the
/// name of the thread that made it (a Dispatch worker's, in every profile of the writer).
public enum NamedThread {
    /// Starts `body` on a new thread named `name`; the system keeps its first 15 bytes.
    @discardableResult
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) -> Thread {
        let thread = Thread {
            _ = CLedgerSys_nameThread(name)
            body()
        }
        thread.name = name
        thread.start()
        return thread
    }
}
