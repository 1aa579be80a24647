// ContactLedger — spreadsheets.
