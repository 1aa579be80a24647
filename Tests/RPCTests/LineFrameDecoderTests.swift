// ContactLedger — JSON-RPC tests.
import NIOCore
import NIOEmbedded
import RPC
import Testing

/// Line framing on an embedded channel: lines, drip-fed bytes, oversized lines that keep the
/// connection usable, CRLF, and half lines at end of stream.
struct LineFrameDecoderTests {
    func channel(limit: Int, budget: PendingLineBudget? = nil, peer: UInt32? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLineBytes: limit, budget: budget, peer: peer)))
        return channel
    }

    func lines(_ channel: EmbeddedChannel) throws -> [String] {
        var result: [String] = []
        while let frame = try channel.readInbound(as: LineFrame.self) {
            switch frame {
            case .line(let buffer): result.append(String(buffer: buffer))
            case .oversized: result.append("<oversized>")
            case .overBudget: result.append("<over budget>")
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

    /// Unfinished lines of every connection share one budget, of which one peer may hold half: a line
    /// that would pass either is dropped (its connection stays usable), and a finished, dropped or closed
    /// line gives its bytes back.
    @Test func unfinishedLinesShareOneBudget() throws {
        let budget = PendingLineBudget(limit: 100_000)
        let first = try self.channel(limit: 60_000, budget: budget, peer: 1)
        let second = try self.channel(limit: 60_000, budget: budget, peer: 1)
        let other = try self.channel(limit: 60_000, budget: budget, peer: 2)
        let third = try self.channel(limit: 60_000, budget: budget, peer: 3)
        let part = String(repeating: "x", count: 40_000)
        try first.writeInbound(ByteBuffer(string: part))
        try second.writeInbound(ByteBuffer(string: part))  // Peer 1 would hold 80,000: past its half.
        try other.writeInbound(ByteBuffer(string: part))
        try third.writeInbound(ByteBuffer(string: part))  // 120,000 in all: past the budget.
        #expect(budget.inUse == 80_000)
        for channel in [first, second, other, third] { try channel.writeInbound(ByteBuffer(string: "\nnext\n")) }
        #expect(try self.lines(first) == [part, "next"])
        #expect(try self.lines(second) == ["<over budget>", "next"])
        #expect(try self.lines(other) == [part, "next"])
        #expect(try self.lines(third) == ["<over budget>", "next"])
        #expect(budget.inUse == 0)
        // Short lines are not counted; a closed connection gives its unfinished line back.
        try second.writeInbound(ByteBuffer(string: "short"))
        #expect(budget.inUse == 0)
        try first.writeInbound(ByteBuffer(string: part))
        #expect(budget.inUse == 40_000)
        _ = try first.finish()
        #expect(budget.inUse == 0)
    }

    @Test func aHalfLineAtTheEndIsDiscarded() throws {
        let channel = try self.channel(limit: 100)
        try channel.writeInbound(ByteBuffer(string: "whole\nhalf"))
        #expect(try self.lines(channel) == ["whole"])
        _ = try channel.finish()
        #expect(try self.lines(channel).isEmpty)
    }
}
