// ContactLedger — tests of the work shared over the cores.
import Foundation
import ParallelWork
import Synchronization
import Testing

/// Slices cover the work once, in order, and small work stays on the calling thread.
struct ParallelSlicesTests {
    @Test(arguments: [0, 1, 7, 100, 4_097, 50_000])
    func theSlicesCoverEveryItemOnceInOrder(count: Int) {
        let slices = ParallelSlices.map(count: count, minimumPerSlice: 1_000) { slice in slice }
        #expect(Array(slices.joined()) == Array(0..<count))
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(slices.count == (cores > 1 ? max(1, min(cores * 4, count / 1_000)) : 1))
    }

    @Test func eachSliceRunsOnceAndTheResultsComeBackInSliceOrder() {
        let runs = Mutex(0)
        let sums = ParallelSlices.map(count: 100_000, minimumPerSlice: 10) { slice -> Int in
            runs.withLock { $0 += 1 }
            return slice.reduce(0, +)
        }
        #expect(runs.withLock { $0 } == sums.count)
        #expect(sums.reduce(0, +) == (0..<100_000).reduce(0, +))
        // Slices are consecutive: each later slice's items are larger, so its sum is too.
        #expect(sums == sums.sorted())
    }
}
