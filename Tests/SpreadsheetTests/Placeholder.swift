// ContactLedger — spreadsheet tests.
