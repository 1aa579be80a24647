// ContactLedger — work shared over the cores.
import Dispatch

/// Frees large values on another thread.
///
/// Freeing a batch's gathered writes or held contacts (tens of thousands of small arrays) is work
/// the writer thread need not wait for: handing the last reference to a background queue lets the
/// writer go on to its next command while another core frees them.
public enum BackgroundRelease {
    private static let queue = DispatchQueue(label: "contactledger.background-release", qos: .utility)

    /// Below this many elements a value is dropped where it is: waking the queue's thread for a
    /// command's few writes costs the writer more than freeing them (and takes a core from it).
    public static let worthwhileCount = 256

    /// Drops `value` (the caller's last reference) on the background queue when it holds `count`
    /// elements, at least ``worthwhileCount``; otherwise here.
    public static func release<Value: Sendable>(_ value: consuming Value, count: Int) {
        guard count >= Self.worthwhileCount else { return }
        let box = Box(value)
        queue.async { _ = box }
    }

    private final class Box<Held: Sendable>: Sendable {
        let held: Held
        init(_ held: Held) { self.held = held }
    }
}
