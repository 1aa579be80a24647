// ContactLedger — storage layer.
import CLMDB
import Synchronization

/// Reports LMDB's failed assertions before LMDB aborts the process.
///
/// LMDB has no page checksums: a damaged page (zeroed, overwritten) is found by an assertion deep in a
/// cursor move (`Assertion 'IS_LEAF(mp)' failed in mdb_cursor_next()`), and LMDB then calls `abort()`,
/// which nothing can stop. Without a report the operator sees a backtrace naming no file. Every
/// environment this module opens has a callback (`mdb_env_set_assert`) that hands the environment's
/// directory and LMDB's message to the handler set here, so its owner can log which store is damaged
/// and what to do, before the abort.
public enum LMDBAssertions {
    /// The process's handler: (the environment's directory, LMDB's message). Called on the thread
    /// that hit the assertion, which the process's abort follows at once.
    private static let handler = Mutex<(@Sendable (_ directory: String, _ message: String) -> Void)?>(nil)

    /// Sets the handler called when an assertion of LMDB fails, just before LMDB aborts the process
    /// (replacing any earlier one). Keep it short and self-contained: write one line and return.
    public static func report(to handler: @escaping @Sendable (_ directory: String, _ message: String) -> Void) {
        self.handler.withLock { $0 = handler }
    }

    /// Installs the callback on `env`. Without assertions (a liblmdb built with `NDEBUG`) LMDB ignores it.
    static func install(on env: OpaquePointer) {
        mdb_env_set_assert(env) { env, message in
            var path: UnsafePointer<CChar>?
            if let env { mdb_env_get_path(env, &path) }
            let directory = path.map { String(cString: $0) } ?? "?"
            let text = message.map { String(cString: $0) } ?? "?"
            // Copied out of the lock: the handler may take its time (a log line), the process ends after it.
            LMDBAssertions.handler.withLock { $0 }?(directory, text)
        }
    }
}
