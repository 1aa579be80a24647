// ContactLedger — JSON-RPC server.
import NIOCore

/// Runs Swift tasks on one NIO event loop: a connection's tasks prefer its channel's loop, so a request
/// read there is decoded, dispatched and answered there.
///
/// Without a preference, every line read on a loop is handed to Swift's cooperative pool and every
/// answer handed back to the loop: thread wake-ups on top of the ledger's own, which cost more than
/// the decoding they carry. A call's short LMDB reads run here as they ran on the pool (both have a
/// thread per core); long work (backups, exports, imports, log verification) runs in detached tasks,
/// which do not inherit the preference, or on threads of its own.
final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // From the loop itself this only queues the job behind the current tick: no wake-up.
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
