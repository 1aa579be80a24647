// ContactLedger — shared test support.
import Foundation

/// A reproducible pseudo-random generator (SplitMix64): a failing run is replayed from its seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { self.state = seed }
    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The seed from `CONTACTLEDGER_FUZZ_SEED`, or a fresh one; printed so a failure can be replayed.
    public static func announcedSeed(_ label: String) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["CONTACTLEDGER_FUZZ_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 1...UInt64(UInt32.max))
        print("\(label): seed \(seed) (replay with CONTACTLEDGER_FUZZ_SEED=\(seed))")
        return seed
    }
}
