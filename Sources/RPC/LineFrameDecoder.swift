// ContactLedger — JSON-RPC layer.
import NIOCore

/// One inbound frame: a complete line, or the notice that a line exceeded the limit.
public enum LineFrame: Sendable, Equatable {
    /// A line without its `\n` (and without a trailing `\r`).
    case line(ByteBuffer)
    /// A line longer than the limit was dropped; the connection stays usable.
    case oversized
    /// A line was dropped because unfinished lines held too many bytes (``PendingLineBudget``): those
    /// of its peer, or of all connections, past `limit` bytes. The connection stays usable.
    case overBudget(limit: Int)
}

/// Splits a byte stream into `\n`-terminated lines of at most `maximumLineBytes` bytes.
///
/// Unlike `maximumBufferSize`, an overlong line does not fail the connection: its bytes are dropped up
/// to the next `\n` and ``LineFrame/oversized`` is emitted in its place. The scan offset is remembered
/// between calls so a long line costs O(n), not O(n²). A partial line at end of stream is discarded.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = LineFrame

    private let maximumLineBytes: Int
    private let budget: PendingLineBudget?
    /// The peer's user id, whose share of the budget its lines count against.
    private let peer: UInt32?
    private var scannedBytes = 0
    private var isDiscarding = false
    /// Why the line being dropped is dropped.
    private var discarded = LineFrame.oversized
    /// The bytes of this connection's unfinished line counted in the budget.
    private var reservedBytes = 0

    /// - Parameters:
    ///   - budget: the bytes all connections' unfinished lines may hold together; nil: no bound but
    ///     the line limit.
    ///   - peer: the user id at the other end, whose share of `budget` this connection's lines use.
    public init(maximumLineBytes: Int, budget: PendingLineBudget? = nil, peer: UInt32? = nil) {
        self.maximumLineBytes = maximumLineBytes
        self.budget = budget
        self.peer = peer
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let searchStart = view.index(view.startIndex, offsetBy: self.scannedBytes)
        guard let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
            self.scannedBytes = view.count
            if !self.isDiscarding, view.count > self.maximumLineBytes { self.startDiscarding(.oversized) }
            if !self.isDiscarding, let passed = self.holdInBudget(view.count) { self.startDiscarding(.overBudget(limit: passed)) }
            if self.isDiscarding {
                // Drop what we have; the rest of this line is dropped as it comes.
                buffer.moveReaderIndex(forwardBy: view.count)
                self.scannedBytes = 0
            }
            return .needMoreData
        }
        let lineLength = newline - view.startIndex
        self.scannedBytes = 0
        self.releaseBudget()
        if self.isDiscarding || lineLength > self.maximumLineBytes {
            let frame = self.isDiscarding ? self.discarded : .oversized
            self.isDiscarding = false
            buffer.moveReaderIndex(forwardBy: lineLength + 1)
            context.fireChannelRead(Self.wrapInboundOut(frame))
            return .continue
        }
        guard var line = buffer.readSlice(length: lineLength) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
        context.fireChannelRead(Self.wrapInboundOut(.line(line)))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        // A half-written line with the connection closed is not a request.
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        self.releaseBudget()
        return .needMoreData
    }

    public mutating func decoderRemoved(context: ChannelHandlerContext) {
        self.releaseBudget()
    }

    private mutating func startDiscarding(_ reason: LineFrame) {
        self.isDiscarding = true
        self.discarded = reason
        self.releaseBudget()
    }

    /// Counts an unfinished line of `bytes` in the budget; nil when held, else the budget (in bytes) it
    /// would have passed.
    private mutating func holdInBudget(_ bytes: Int) -> Int? {
        guard let budget = self.budget, bytes > budget.uncountedBytes, bytes > self.reservedBytes else { return nil }
        if let passed = budget.reserve(bytes - self.reservedBytes, for: self.peer) { return passed }
        self.reservedBytes = bytes
        return nil
    }

    private mutating func releaseBudget() {
        self.budget?.release(self.reservedBytes, for: self.peer)
        self.reservedBytes = 0
    }
}
