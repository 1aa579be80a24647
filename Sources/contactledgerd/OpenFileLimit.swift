// ContactLedger — daemon executable.
import Foundation

/// The process's limit on open files, which bounds the daemon's connections: each is a descriptor.
enum OpenFileLimit {
    /// Raises the soft limit to the hard one and returns the limit in force. A connection past the soft
    /// limit is not refused but left unaccepted (NIO backs off and retries), so its client waits in
    /// silence; Debian's default soft limit of 1,024 reached that at about a thousand clients, though the
    /// hard limit allows far more, as Go's runtime and systemd's services do.
    static func raise() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }
}
