// ContactLedger — daemon executable.
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Turns the first of some signals into a request to stop that long work polls (``signal``), and lets a
/// second one act as it would have: an operator who presses Ctrl-C twice means it.
final class Interruption {
    /// The first signal, set on Dispatch's queue and read by the work.
    private final class Received: Sendable {
        let first = Mutex<Int32?>(nil)
    }

    private let received = Received()
    private let sources: [any DispatchSourceSignal]

    /// Starts watching `signals` (their default action is held back until the first arrives).
    init(signals: [Int32]) {
        let received = self.received
        self.sources = signals.map { number in
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                received.first.withLock { $0 = $0 ?? number }
                for other in signals { Glibc.signal(other, SIG_DFL) }
            }
            source.resume()
            return source
        }
    }

    /// The first signal received, if any.
    var firstSignal: Int32? { self.received.first.withLock { $0 } }

    deinit {
        for source in self.sources { source.cancel() }
    }
}
