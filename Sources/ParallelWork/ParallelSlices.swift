// ContactLedger — work shared over the cores.
import Dispatch
import Foundation
import Synchronization

/// Pure work over `0..<count` cut into near-equal slices run on every core, the results in slice order.
///
/// The writer thread is the daemon's bottleneck, while the machine's other cores wait on it. The
/// pieces of a command that depend on nothing but their input (encoding records, indexing contacts,
/// sorting a batch's keys, normalizing an import's URNs) are cut into slices here and run on every core,
/// with the caller's thread taking one slice; the results come back in slice order, so merging them is
/// deterministic.
public enum ParallelSlices {
    /// Runs `body` on each slice of `0..<count` and returns its results in slice order.
    ///
    /// - Parameters:
    ///   - minimumPerSlice: below twice this many items (or on one core), `body` runs once, on the
    ///     calling thread: handing a small job to another thread costs more than it saves.
    ///   - slicesPerCore: more than one lets threads balance their loads; one suits work whose results
    ///     cost more to combine the more there are (sorted runs merged one after another).
    ///
    /// Inlinable, so that each caller's copy knows its `Result`: called across modules without it,
    /// every call looked up the metadata of an array of `Result` at run time, which cost a small batch
    /// more than its one slice of work.
    @inlinable
    public static func map<Result: Sendable>(
        count: Int,
        minimumPerSlice: Int,
        slicesPerCore: Int = 4,
        _ body: @Sendable (Range<Int>) -> Result
    ) -> [Result] {
        let slices = Self.sliceCount(count: count, minimumPerSlice: minimumPerSlice, slicesPerCore: slicesPerCore)
        guard slices > 1 else { return [body(0..<count)] }
        let results = Mutex<[Int: Result]>([:])
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let result = body(Self.slice(slice, of: slices, count: count))
            results.withLock { $0[slice] = result }
        }
        return results.withLock { made in (0..<slices).compactMap { made[$0] } }
    }

    /// How many slices `count` items are cut into: `slicesPerCore` per active core when there are
    /// more cores than one, each at least `minimumPerSlice`. Threads take slices as they come free, so
    /// a thread that starts late (a pool thread waking up) takes fewer, instead of the caller waiting
    /// for it to finish an equal share.
    @usableFromInline
    static func sliceCount(count: Int, minimumPerSlice: Int, slicesPerCore: Int = 4) -> Int {
        guard Self.cores > 1 else { return 1 }
        return max(1, min(Self.cores * max(1, slicesPerCore), count / max(1, minimumPerSlice)))
    }

    /// The active cores, read once: Foundation reads them from `/proc` on every call, which cost a
    /// small command more than its own work.
    public static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// The `slice`-th of `slices` near-equal slices of `0..<count`.
    @usableFromInline
    static func slice(_ slice: Int, of slices: Int, count: Int) -> Range<Int> {
        (count * slice / slices)..<(count * (slice + 1) / slices)
    }
}
