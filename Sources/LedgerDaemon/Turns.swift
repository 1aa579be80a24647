// ContactLedger — daemon wiring.

/// Lets calls of one kind run one at a time, in the order they asked: `projections.verify` (every
/// verification builds the same scratch tables, and one would empty them under another) and
/// `ledger.backup` (two backups into one empty directory both found it empty, and the second failed
/// part-way with another error than a directory found in use).
actor Turns {
    private var isTaken = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Runs `body` when its turn comes.
    nonisolated func inTurn<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await self.take()
        do {
            let result = try await body()
            await self.give()
            return result
        } catch {
            await self.give()
            throw error
        }
    }

    private func take() async {
        guard self.isTaken else {
            self.isTaken = true
            return
        }
        await withCheckedContinuation { self.waiting.append($0) }
    }

    private func give() {
        if self.waiting.isEmpty {
            self.isTaken = false
        } else {
            self.waiting.removeFirst().resume()
        }
    }
}
