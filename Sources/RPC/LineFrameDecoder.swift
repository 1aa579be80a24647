// ContactLedger — JSON-RPC layer.
import NIOCore

/// One inbound frame: a complete line, or the notice that a line exceeded the limit.
public enum LineFrame: Sendable, Equatable {
    /// A line without its `\n` (and without a trailing `\r`).
    case line(ByteBuffer)
    /// A line longer than the limit was dropped; the connection stays usable.
    case oversized
}

/// Splits a byte stream into `\n`-terminated lines of at most `maximumLineBytes` bytes.
///
/// Unlike `maximumBufferSize`, an overlong line does not fail the connection: its bytes are dropped up
/// to the next `\n` and ``LineFrame/oversized`` is emitted in its place. The scan offset is remembered
/// between calls so a long line costs O(n), not O(n²). A partial line at end of stream is discarded.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = LineFrame

    private let maximumLineBytes: Int
    private var scannedBytes = 0
    private var isDiscarding = false

    public init(maximumLineBytes: Int) {
        self.maximumLineBytes = maximumLineBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let searchStart = view.index(view.startIndex, offsetBy: self.scannedBytes)
        guard let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
            self.scannedBytes = view.count
            if self.isDiscarding || view.count > self.maximumLineBytes {
                // Drop what we have; remember to drop the rest of this line too.
                if !self.isDiscarding { self.isDiscarding = true }
                buffer.moveReaderIndex(forwardBy: view.count)
                self.scannedBytes = 0
            }
            return .needMoreData
        }
        let lineLength = newline - view.startIndex
        self.scannedBytes = 0
        if self.isDiscarding || lineLength > self.maximumLineBytes {
            self.isDiscarding = false
            buffer.moveReaderIndex(forwardBy: lineLength + 1)
            context.fireChannelRead(Self.wrapInboundOut(.oversized))
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
        return .needMoreData
    }
}
