// ContactLedger — daemon wiring.
import CLedgerSys

/// Gives the allocator's free pages back to the system after work that allocated much for a while (a
/// rebuild's batches, an import's sheet and records, an export's contacts and file): glibc keeps them in
/// its arenas otherwise, and the daemon went on holding 1.5 GB after exports of 200,000 contacts.
enum FreedMemory {
    static func returnToSystem() {
        _ = CLedgerSys_returnFreedMemory()
    }
}
