// ContactLedger — read-model tests.
import Foundation
import Testing

@testable import Projections

/// Posting block values: both forms hold exactly the offsets given, and the smaller form is chosen.
struct PostingBlocksTests {
    @Test(arguments: [0, 1, 2, 255, 256, 300, 2_048, 4_096])
    func aValueHoldsExactlyItsOffsets(count: Int) {
        var generator = SystemRandomNumberGenerator()
        let offsets = Array(Set((0..<count).map { _ in UInt16.random(in: 0..<4_096, using: &generator) })).sorted()
        let value = PostingBlocks.value(of: offsets)
        #expect(value.count == min(1 + offsets.count * 2, 1 + 512))
        value.withUnsafeBytes { bytes in
            #expect(PostingBlocks.offsets(in: bytes) == offsets)
            for offset in [UInt16(0), 1, 7, 8, 4_095] {
                #expect(PostingBlocks.contains(offset, in: bytes) == offsets.contains(offset))
            }
            #expect(PostingBlocks.ids(in: bytes, block: 3) == offsets.map { 3 * 4_096 + Int64($0) })
        }
    }

    @Test func idsFallInBlocksOf4096() {
        #expect(PostingBlocks.position(of: 0) == (0, 0))
        #expect(PostingBlocks.position(of: 4_095) == (0, 4_095))
        #expect(PostingBlocks.position(of: 4_096) == (1, 0))
        #expect(PostingBlocks.position(of: 1_000_000) == (244, 576))
    }

    /// Changes apply in the order gathered, over what the block held, and an emptied block is deleted.
    @Test func changesApplyInOrderOverTheStoredBlock() {
        var changes = PostingChanges<[UInt8]>()
        changes.add(5, to: [1])
        changes.remove(7, from: [1])
        var later = PostingChanges<[UInt8]>()
        later.remove(5, from: [1])
        later.add(9, to: [1])
        later.remove(2, from: [2])
        changes.append(contentsOf: later)
        let stored: [[UInt8]: [UInt8]] = [[1]: PostingBlocks.value(of: [7, 8]), [2]: PostingBlocks.value(of: [2])]
        #expect(changes.updatedValues { stored[$0] } == [[1]: PostingBlocks.value(of: [8, 9]), [2]: nil])
    }

    /// Changes to either form give the value made from the resulting offsets, across the switch from
    /// list to bitmap and back, and nil once the block is empty.
    @Test func changesToEitherFormEqualTheValueOfTheResultingOffsets() {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 3, 200, 255, 256, 257, 600, 4_000] {
            var offsets = Set((0..<size).map { _ in UInt16.random(in: 0..<4_096, using: &generator) })
            var value: [UInt8]? = offsets.isEmpty ? nil : PostingBlocks.value(of: offsets.sorted())
            for _ in 0..<50 {
                let changes = (0..<Int.random(in: 1...80, using: &generator)).map { _ in
                    (offset: UInt16.random(in: 0..<4_096, using: &generator), present: Bool.random(using: &generator))
                }
                for change in changes {
                    if change.present { offsets.insert(change.offset) } else { offsets.remove(change.offset) }
                }
                value = PostingBlocks.applying(changes, to: value)
                #expect(value == (offsets.isEmpty ? nil : PostingBlocks.value(of: offsets.sorted())), "size \(size)")
            }
            let removals = offsets.map { (offset: $0, present: false) }
            #expect(PostingBlocks.applying(removals, to: value) == nil)
        }
    }
}
