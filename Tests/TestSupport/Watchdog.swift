// ContactLedger — shared test support.
import Foundation
import Synchronization

/// Ends the test process, naming the execution, when one execution runs longer than a bound: a hang
/// cannot be interrupted from inside, so it is made a loud, replayable failure instead of a stuck run.
public final class Watchdog: Sendable {
    private struct State {
        var current: String?
        var since = Date()
        var stopped = false
    }

    private let state = Mutex(State())

    /// Starts the watching thread; `label` starts its message (name the seed there).
    public init(label: String, bound: TimeInterval = 30) {
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.25)
                let (stopped, stuck) = self.state.withLock { state -> (Bool, String?) in
                    guard let current = state.current, Date().timeIntervalSince(state.since) > bound else { return (state.stopped, nil) }
                    return (state.stopped, current)
                }
                if stopped { return }
                if let stuck {
                    FileHandle.standardError.write(Data("\(label): \(stuck) ran longer than \(Int(bound)) s: a hang\n".utf8))
                    abort()
                }
            }
        }
        thread.start()
    }

    /// An execution named `what` starts now.
    public func begin(_ what: String) {
        self.state.withLock { state in
            state.current = what
            state.since = Date()
        }
    }

    /// The current execution ended.
    public func end() { self.state.withLock { $0.current = nil } }

    /// Stops the watching thread.
    public func stop() { self.state.withLock { $0.stopped = true } }
}
