// ContactLedger — NATS client.
import NIOCore

/// One operation received from the server.
enum ServerOperation: Sendable {
    case info([UInt8])
    case message(NATSMessage)
    case ping
    case pong
    case ok
    case error(String)
}

/// Splits the server's byte stream into operations: control lines end with CRLF; `MSG` and `HMSG`
/// lines announce a body of known length, itself followed by CRLF.
struct NATSFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ServerOperation

    /// The longest control line accepted (`INFO` can be a few KiB with cluster URLs).
    static let maximumLineLength = 1 << 20

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let operation = try Self.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(NIOAny(operation))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let operation = try Self.parse(&buffer) { context.fireChannelRead(NIOAny(operation)) }
        return .needMoreData
    }

    /// Reads one operation off `buffer`, or returns nil (consuming nothing) when it is not complete yet.
    static func parse(_ buffer: inout ByteBuffer) throws(NATSError) -> ServerOperation? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > Self.maximumLineLength { throw NATSError.protocolError("control line too long") }
            return nil
        }
        let lineLength = newline - view.startIndex + 1
        var lineEnd = newline
        if lineEnd > view.startIndex, view[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        let line = view[view.startIndex..<lineEnd]
        let opEnd = line.firstIndex(of: UInt8(ascii: " ")) ?? line.endIndex
        let op = String(decoding: line[line.startIndex..<opEnd], as: UTF8.self).uppercased()
        let rest = opEnd < line.endIndex ? line[(opEnd + 1)...] : line[line.endIndex...]
        switch op {
        case "MSG", "HMSG":
            let arguments = rest.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
            let hasHeaders = op == "HMSG"
            let expected = hasHeaders ? [4, 5] : [3, 4]
            guard expected.contains(arguments.count), let sid = UInt64(arguments[1]),
                let total = Int(arguments[arguments.count - 1]), total >= 0
            else { throw NATSError.protocolError("malformed \(op) line") }
            let headerLength = hasHeaders ? Int(arguments[arguments.count - 2]) ?? -1 : 0
            guard headerLength >= 0, headerLength <= total else { throw NATSError.protocolError("malformed \(op) sizes") }
            let replyTo = arguments.count == expected[1] ? arguments[2] : nil
            guard buffer.readableBytes >= lineLength + total + 2 else { return nil }
            buffer.moveReaderIndex(forwardBy: lineLength)
            guard let body = buffer.readBytes(length: total) else { return nil }
            buffer.moveReaderIndex(forwardBy: 2)
            var headers: NATSHeaders?
            if hasHeaders {
                guard let parsed = NATSHeaders.parse(body[0..<headerLength]) else {
                    throw NATSError.protocolError("malformed headers")
                }
                headers = parsed
            }
            let payload = hasHeaders ? Array(body[headerLength...]) : body
            return .message(NATSMessage(subject: arguments[0], sid: sid, replyTo: replyTo, headers: headers, payload: payload))
        case "PING":
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .ping
        case "PONG":
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .pong
        case "+OK":
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .ok
        case "-ERR":
            let text = String(decoding: rest, as: UTF8.self).trimmingCharacters(in: "' ")
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .error(text)
        case "INFO":
            let json = Array(rest)
            buffer.moveReaderIndex(forwardBy: lineLength)
            return .info(json)
        default:
            throw NATSError.protocolError("unknown operation '\(op.prefix(16))'")
        }
    }
}

extension String {
    /// The string without the given characters at either end.
    fileprivate func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Builds client operations.
enum ClientOperation {
    /// `PUB` or, with headers, `HPUB`.
    static func publish(
        into buffer: inout ByteBuffer,
        subject: String,
        replyTo: String?,
        headers: NATSHeaders?,
        payload: some Collection<UInt8>
    ) {
        let reply = replyTo.map { " " + $0 } ?? ""
        if let headers {
            let headerBytes = headers.encoded()
            buffer.writeString("HPUB \(subject)\(reply) \(headerBytes.count) \(headerBytes.count + payload.count)\r\n")
            buffer.writeBytes(headerBytes)
        } else {
            buffer.writeString("PUB \(subject)\(reply) \(payload.count)\r\n")
        }
        buffer.writeBytes(payload)
        buffer.writeStaticString("\r\n")
    }

    static func subscribe(into buffer: inout ByteBuffer, subject: String, queue: String?, sid: UInt64) {
        buffer.writeString("SUB \(subject)\(queue.map { " " + $0 } ?? "") \(sid)\r\n")
    }

    static func unsubscribe(into buffer: inout ByteBuffer, sid: UInt64) {
        buffer.writeString("UNSUB \(sid)\r\n")
    }
}
