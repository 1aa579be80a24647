// ContactLedger — JSON-RPC tests.
import NIOCore
import NIOEmbedded
import RPC
import Testing

/// Line framing on an embedded channel: lines, drip-fed bytes, oversized lines that keep the
/// connection usable, CRLF, and half lines at end of stream.
struct LineFrameDecoderTests {
    func channel(limit: Int) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLineBytes: limit)))
        return channel
    }

    func lines(_ channel: EmbeddedChannel) throws -> [String] {
        var result: [String] = []
        while let frame = try channel.readInbound(as: LineFrame.self) {
            switch frame {
            case .line(let buffer): result.append(String(buffer: buffer))
            case .oversized: result.append("<oversized>")
            }
        }
        return result
    }

    @Test func splitsLinesAndStripsCR() throws {
        let channel = try self.channel(limit: 100)
        try channel.writeInbound(ByteBuffer(string: "one\ntwo\r\nthr"))
        try channel.writeInbound(ByteBuffer(string: "ee\n"))
        #expect(try self.lines(channel) == ["one", "two", "three"])
    }

    @Test func dripFedBytesMakeTheSameLines() throws {
        let channel = try self.channel(limit: 100)
        for byte in "{\"a\":1}\n{\"b\":2}\n".utf8 {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(try self.lines(channel) == ["{\"a\":1}", "{\"b\":2}"])
    }

    @Test(arguments: [1, 7, 64, 1000])
    func anOversizedLineIsDroppedAndTheNextOneServed(chunk: Int) throws {
        let channel = try self.channel(limit: 16)
        let input = Array("short\n".utf8) + Array(repeating: UInt8(ascii: "x"), count: 200) + Array("\nafter\n".utf8)
        var offset = 0
        while offset < input.count {
            let end = min(offset + chunk, input.count)
            try channel.writeInbound(ByteBuffer(bytes: input[offset..<end]))
            offset = end
        }
        #expect(try self.lines(channel) == ["short", "<oversized>", "after"])
    }

    @Test func aHalfLineAtTheEndIsDiscarded() throws {
        let channel = try self.channel(limit: 100)
        try channel.writeInbound(ByteBuffer(string: "whole\nhalf"))
        #expect(try self.lines(channel) == ["whole"])
        _ = try channel.finish()
        #expect(try self.lines(channel).isEmpty)
    }
}
