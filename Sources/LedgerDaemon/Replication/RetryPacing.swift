// ContactLedger — daemon wiring.

/// The pace of a replication loop's retries, and what it logs about them: an attempt that moved the
/// loop's position (events published or applied) starts the back-off over; one that did not doubles it
/// (up to 2 s) and logs its error only if it is a new one. The connection is announced once after an
/// error. Without it, a failure repeated at once (a record that does not verify, NATS down at start)
/// retried every 100 ms and logged every time.
struct RetryPacing {
    /// How long to wait before the next attempt.
    private(set) var delay: Duration = .milliseconds(100)
    private var lastLogged: String?
    private var announced = false
    private var positionAtAttempt: UInt64 = 0

    /// An attempt begins (or reaches its starting point) at `position`.
    mutating func attemptBegins(at position: UInt64) {
        self.positionAtAttempt = position
    }

    /// Whether to announce that the loop is connected again: once after each logged error.
    mutating func shouldAnnounceConnection() -> Bool {
        guard self.lastLogged != nil, !self.announced else { return false }
        self.announced = true
        return true
    }

    /// The attempt failed with `error` (its text, or what stays the same while it repeats) at
    /// `position`; whether to log it.
    mutating func failed(_ error: String, at position: UInt64) -> Bool {
        if position > self.positionAtAttempt {
            // It went on for a while: a new error, logged and retried soon.
            self.lastLogged = nil
            self.delay = .milliseconds(100)
        }
        guard error != self.lastLogged else { return false }
        self.lastLogged = error
        self.announced = false
        return true
    }

    /// The wait before the next attempt is over.
    mutating func waited() {
        self.delay = min(self.delay * 2, .seconds(2))
    }
}
