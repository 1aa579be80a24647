// ContactLedger — daemon wiring.
import Foundation
import RPC

/// What a method answers: a JSON value to encode, or JSON the writer already encoded.
protocol MethodAnswer: Sendable {
    /// The `result` member's JSON.
    func encodedAnswer() throws -> [UInt8]
}

extension JSONValue: MethodAnswer {
    func encodedAnswer() throws -> [UInt8] { JSONLine.encode(self) }
}

/// A command's answer as the writer encoded (and, with an idempotency key, stored) it.
struct EncodedAnswer: MethodAnswer {
    let bytes: [UInt8]

    func encodedAnswer() throws -> [UInt8] { self.bytes }

    /// The answer as a JSON value, for callers that look inside it, every digit of its numbers kept.
    func decoded() throws -> JSONValue { try Self.decode(self.bytes) }

    /// An answer the daemon encoded (and may have stored), read back with every digit of its numbers: a
    /// number field's value must come out of a stored answer as it went in.
    static func decode(_ bytes: [UInt8]) throws -> JSONValue { try JSONTextParser.parse(bytes, fractions: .decimalElseDouble) }
}
