// ContactLedger — daemon wiring.

/// Lets one `projections.verify` run at a time, in the order they asked: every verification builds the
/// same scratch tables (``Projections/Projector/verificationGeneration``), and one would empty them
/// under another.
actor VerificationTurns {
    private var isTaken = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Waits for the turn, and takes it.
    func take() async {
        guard self.isTaken else {
            self.isTaken = true
            return
        }
        await withCheckedContinuation { self.waiting.append($0) }
    }

    /// Hands the turn to the next in line, if any.
    func give() {
        if self.waiting.isEmpty {
            self.isTaken = false
        } else {
            self.waiting.removeFirst().resume()
        }
    }
}
