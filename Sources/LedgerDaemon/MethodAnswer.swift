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

    /// The answer as a JSON value, for callers that look inside it.
    func decoded() throws -> JSONValue { try JSONValue(parsing: self.bytes) }
}
