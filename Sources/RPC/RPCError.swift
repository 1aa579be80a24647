// ContactLedger — JSON-RPC layer.

/// A JSON-RPC 2.0 error object: a code, a message and optional structured `data`.
public struct RPCError: Error, Sendable, Hashable {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// -32700: the line is not valid UTF-8 JSON.
    public static func parseError(offset: Int? = nil) -> RPCError {
        RPCError(code: -32700, message: "Parse error", data: offset.map { ["offset": .integer(Int64($0))] })
    }

    /// -32600: not a JSON-RPC 2.0 request object.
    public static func invalidRequest(reason: String, limit: Int? = nil) -> RPCError {
        var data: [String: JSONValue] = ["reason": .string(reason)]
        if let limit { data["limit"] = .integer(Int64(limit)) }
        return RPCError(code: -32600, message: "Invalid request", data: .object(data))
    }

    /// -32005: the storage cannot serve or take the call; nothing was written. `reason` says why
    /// (`disk_full`, `log_damaged`, `shutting_down`, …), `details` adds members beside it.
    public static func storageUnavailable(reason: String, _ details: [String: JSONValue] = [:]) -> RPCError {
        var data = details
        data["reason"] = .string(reason)
        return RPCError(code: -32005, message: "Storage unavailable", data: .object(data))
    }

    /// -32601.
    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: -32601, message: "Method not found", data: ["method": .string(method)])
    }

    /// -32602: `field` is the JSON path of the bad parameter.
    public static func invalidParams(field: String, reason: String) -> RPCError {
        RPCError(code: -32602, message: "Invalid params", data: ["field": .string(field), "reason": .string(reason)])
    }

    /// -32603: a bug; `reference` points to the log line with the details.
    public static func internalError(reference: String) -> RPCError {
        RPCError(code: -32603, message: "Internal error", data: ["reference": .string(reference)])
    }
}

extension RPCError {
    /// The error object as a JSON value (`data` only when present).
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["code": .integer(Int64(self.code)), "message": .string(self.message)]
        if let data = self.data { members["data"] = data }
        return .object(members)
    }

    /// The error object `value` holds, or nil when it is not one.
    public init?(jsonValue value: JSONValue) {
        guard let code = value["code"]?.integerValue, let message = value["message"]?.stringValue else { return nil }
        self.init(code: Int(code), message: message, data: value["data"])
    }
}

extension RPCError: Codable {
    enum CodingKeys: String, CodingKey {
        case code, message, data
    }
}
