// ContactLedger — JSON-RPC layer.

// JSON values, their parser, writer and decoder live in `JSONText`, where the domain's stored shapes
// use them too; every client of the RPC layer handles `JSONValue`, so it comes with `import RPC`.
@_exported import JSONText
