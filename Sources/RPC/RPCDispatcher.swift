// ContactLedger — JSON-RPC layer.
import Foundation
import Logging

/// Turns one inbound line into calls to an ``RPCHandler`` and the line of answers.
///
/// Handles single requests, notifications and batches (whose elements run concurrently, so a batch
/// of commands can share one commit), and every protocol-level error of JSON-RPC 2.0.
public struct RPCDispatcher: Sendable {
    /// The most elements a batch may hold.
    public var maximumBatchSize: Int
    private let handler: any RPCHandler
    private let logger: Logger

    public init(handler: any RPCHandler, logger: Logger, maximumBatchSize: Int = 10_000) {
        self.handler = handler
        self.logger = logger
        self.maximumBatchSize = maximumBatchSize
    }

    /// Serves one line; returns the answer line (without `\n`), or nil when nothing is to be answered.
    public func serve(line: [UInt8], context: RPCContext) async -> [UInt8]? {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: line)
        } catch {
            return JSONLine.failure(id: .null, error: .parseError(offset: error.offset))
        }
        guard case .array(let elements) = value else {
            return await self.serve(element: value, context: context)
        }
        if elements.isEmpty {
            return JSONLine.failure(id: .null, error: .invalidRequest(reason: "empty_batch"))
        }
        if elements.count > self.maximumBatchSize {
            return JSONLine.failure(
                id: .null,
                error: RPCError(
                    code: -32006,
                    message: "Batch too large",
                    data: ["limit": .integer(Int64(self.maximumBatchSize)), "field": "batch"]
                )
            )
        }
        // The elements' answers are held until the batch's answer is written whole: they count against
        // the connection's budget as they are made, so that its calls that start later are refused
        // rather than make more. The server counts the whole answer once it is made.
        let budget = context.answerBudget
        let answers = await withTaskGroup(of: (Int, [UInt8]?).self) { group in
            for (index, element) in elements.enumerated() {
                group.addTask {
                    (index, await AnswerBudget.$ofBatch.withValue(budget) { await self.serve(element: element, context: context) })
                }
            }
            var answers: [(Int, [UInt8])] = []
            for await (index, answer) in group {
                guard let answer else { continue }
                budget?.charge(answer.count)
                answers.append((index, answer))
            }
            return answers.sorted { $0.0 < $1.0 }.map(\.1)
        }
        budget?.release(answers.reduce(0) { $0 + $1.count })
        guard !answers.isEmpty else { return nil }
        var line: [UInt8] = [UInt8(ascii: "[")]
        for (index, answer) in answers.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            line += answer
        }
        line.append(UInt8(ascii: "]"))
        return line
    }

    private func serve(element: JSONValue, context: RPCContext) async -> [UInt8]? {
        let call: RPCCall
        switch Self.validate(element) {
        case .success(let valid): call = valid
        case .failure(let failure): return JSONLine.failure(id: failure.id, error: failure.error)
        }
        if let refusal = context.refusal {
            guard let id = call.id else { return nil }
            return JSONLine.failure(id: id, error: refusal)
        }
        do {
            try AnswerBudget.checkBatch()
            let result = try await self.handler.handle(call, context: context)
            guard let id = call.id else { return nil }
            return JSONLine.success(id: id, result: result)
        } catch let error as RPCError {
            guard let id = call.id else { return nil }
            return JSONLine.failure(id: id, error: error)
        } catch {
            // From getrandom, not Foundation's UUID(): that opens /dev/urandom, and with no descriptor left
            // it hands out the same all-zero id every time.
            let reference = String(UInt64.random(in: .min ... .max), radix: 16)
            self.logger.error(
                "unhandled error serving a call",
                metadata: [
                    "rpc.method": "\(call.method)", "error.reference": "\(reference)",
                    "error.type": "\(String(reflecting: type(of: error)))", "error": "\(error)",
                ]
            )
            guard let id = call.id else { return nil }
            return JSONLine.failure(id: id, error: .internalError(reference: reference))
        }
    }

    private struct InvalidCall: Error {
        var id: JSONValue
        var error: RPCError
    }

    /// Checks the JSON-RPC 2.0 request shape.
    private static func validate(_ value: JSONValue) -> Result<RPCCall, InvalidCall> {
        guard case .object(let members) = value else {
            return .failure(InvalidCall(id: .null, error: .invalidRequest(reason: "not_an_object")))
        }
        // An id of the wrong type cannot be echoed back.
        let id = members["id"]
        let echoedID: JSONValue
        switch id {
        case .some(.string), .some(.integer), .some(.double), .some(.decimal), .some(.null): echoedID = id ?? .null
        case .none: echoedID = .null
        default:
            return .failure(InvalidCall(id: .null, error: .invalidRequest(reason: "invalid_id")))
        }
        guard members["jsonrpc"] == .string("2.0") else {
            return .failure(InvalidCall(id: echoedID, error: .invalidRequest(reason: "jsonrpc_must_be_2.0")))
        }
        guard case .string(let method)? = members["method"] else {
            return .failure(InvalidCall(id: echoedID, error: .invalidRequest(reason: "method_must_be_a_string")))
        }
        let params = members["params"]
        switch params {
        case .none, .some(.object), .some(.array): break
        default:
            return .failure(InvalidCall(id: echoedID, error: .invalidRequest(reason: "params_must_be_structured")))
        }
        return .success(RPCCall(method: method, params: params, id: id))
    }
}
