// ContactLedger — NATS client.

/// A message delivered by the server (`MSG` or `HMSG`).
public struct NATSMessage: Sendable {
    /// The subject it was published to.
    public var subject: String
    /// The subscription it was delivered to.
    public var sid: UInt64
    /// Where answers go, if the publisher asked for some.
    public var replyTo: String?
    /// The headers, for `HMSG`.
    public var headers: NATSHeaders?
    /// The body.
    public var payload: [UInt8]

    public init(subject: String, sid: UInt64, replyTo: String?, headers: NATSHeaders?, payload: [UInt8]) {
        self.subject = subject
        self.sid = sid
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
    }

    /// The status code of a status message (`503` no responders, `404`/`408`/`409` for pull requests).
    public var status: Int? { self.headers?.status }
}

/// NATS message headers: a `NATS/1.0 [status [description]]` line then `Name: value` lines.
///
/// Names keep their case; lookups ignore it. A name may repeat.
public struct NATSHeaders: Sendable, Hashable {
    /// One header line.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The status code of the first line, if any (status messages from the server).
    public var status: Int?
    /// The status description, if any.
    public var statusDescription: String?
    /// The fields, in order.
    public private(set) var fields: [Field] = []

    public init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
    }

    /// The first value of `name` (case-insensitive).
    public subscript(name: String) -> String? {
        let lowered = name.lowercased()
        return self.fields.first { $0.name.lowercased() == lowered }?.value
    }

    /// Adds a field (names and values must not hold CR, LF or, for names, `:`).
    public mutating func append(_ name: String, _ value: String) {
        self.fields.append(Field(name: name, value: value))
    }

    /// The wire form, ending with the empty line.
    public func encoded() -> [UInt8] {
        var text = "NATS/1.0"
        if let status = self.status {
            text += " \(status)"
            if let description = self.statusDescription { text += " \(description)" }
        }
        text += "\r\n"
        for field in self.fields { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Parses the header block of an `HMSG`; nil when it does not start with `NATS/1.0`.
    public static func parse(_ bytes: some Collection<UInt8>) -> NATSHeaders? {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true).makeIterator()
        guard let first = lines.next(), first.hasPrefix("NATS/1.0") else { return nil }
        var headers = NATSHeaders()
        let statusLine = first.dropFirst("NATS/1.0".count).trimmingPrefix(" ")
        if !statusLine.isEmpty {
            let parts = statusLine.split(separator: " ", maxSplits: 1)
            headers.status = parts.first.flatMap { Int($0) }
            if parts.count > 1 { headers.statusDescription = String(parts[1]) }
        }
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...].trimmingPrefix(" "))
            headers.append(name, value)
        }
        return headers
    }
}

/// What a NATS client operation failed with.
public enum NATSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The address is not `nats://host:port`.
    case invalidURL(String)
    /// No connection to the server right now (the client reconnects by itself).
    case notConnected
    /// The client was closed.
    case closed
    /// The connection was lost while waiting for an answer.
    case disconnected
    /// No answer in time.
    case timeout
    /// Nobody subscribes to the request's subject.
    case noResponders
    /// The server sent something this client cannot read.
    case protocolError(String)
    /// The server sent `-ERR`.
    case serverError(String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid NATS URL '\(url)' (expected nats://host:port)"
        case .notConnected: "not connected to the NATS server"
        case .closed: "the NATS client is closed"
        case .disconnected: "the connection to the NATS server was lost"
        case .timeout: "the NATS server did not answer in time"
        case .noResponders: "no responders for the request's subject"
        case .protocolError(let text): "NATS protocol error: \(text)"
        case .serverError(let text): "NATS server error: \(text)"
        }
    }
}
