// ContactLedger — daemon wiring.
import ServiceLifecycle

/// Stops the running exports when the daemon stops (SIGTERM, SIGINT, SIGHUP): each ends between two rows
/// and removes its temporary files, and its end (`failed`, `interrupted`, with the rows it had written)
/// is stored. Exports run on threads the stop does not wait for: the process ended under them, and their
/// worksheet parts and CSVs stayed beside their destinations with every row written so far.
///
/// In the service group after the writer and before the server, so stopped once the server has answered
/// its last call (no export starts after it) and before the writer, which stores the exports' ends.
struct ExportStopper: Service {
    func run() async throws {
        try? await gracefulShutdown()
        await ExportJob.stopAll()
    }
}
