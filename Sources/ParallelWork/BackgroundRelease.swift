// ContactLedger — work shared over the cores.
import Dispatch

/// Frees large values on another thread.
///
/// Freeing a batch's gathered writes or held contacts (tens of thousands of small arrays) is work
/// the writer thread need not wait for: handing the last reference to a background queue lets the
/// writer go on to its next command while another core frees them.
public enum BackgroundRelease {
    private static let queue = DispatchQueue(label: "contactledger.background-release", qos: .utility)

    /// Drops `value` (the caller's last reference) on the background queue.
    public static func release<Value: Sendable>(_ value: consuming Value) {
        let box = Box(value)
        queue.async { _ = box }
    }

    private final class Box<Held: Sendable>: Sendable {
        let held: Held
        init(_ held: Held) { self.held = held }
    }
}
