// ContactLedger — contact domain.
import Testing
