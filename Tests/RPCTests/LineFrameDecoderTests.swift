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
            case .overBudget(let limit): result.append("<over budget \(limit)>")
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
        // Each refusal names the budget it would have passed: the peer's half, then the whole.
        #expect(try self.lines(second) == ["<over budget 50000>", "next"])
        #expect(try self.lines(other) == [part, "next"])
        #expect(try self.lines(third) == ["<over budget 100000>", "next"])
        #expect(budget.inUse == 0)
        // Short lines are not counted; a closed connection gives its unfinished line back.
        try second.writeInbound(ByteBuffer(string: "short"))
        #expect(budget.inUse == 0)
        try first.writeInbound(ByteBuffer(string: part))
        #expect(budget.inUse == 40_000)
        _ = try first.finish()
        #expect(budget.inUse == 0)
    }

    /// With a short line limit the budget still holds: the uncounted start of a line is a sixteenth of
    /// the line limit. With 2 KiB lines the start was 4 KiB, so no line was ever counted, and one peer
    /// held 100 unfinished lines against a budget of 8.
    @Test func aShortLineLimitKeepsItsBudget() throws {
        let limit = 2048
        let budget = PendingLineBudget(maximumLineBytes: limit)
        #expect(budget.peerLimit == 8 * limit)
        let channels = try (0..<12).map { _ in try self.channel(limit: limit, budget: budget, peer: 7) }
        let part = String(repeating: "x", count: limit - 100)
        for channel in channels { try channel.writeInbound(ByteBuffer(string: part)) }
        #expect(budget.inUse <= budget.peerLimit)
        for channel in channels { try channel.writeInbound(ByteBuffer(string: "\n")) }
        let outcomes = try channels.map { try self.lines($0) }
        #expect(outcomes.filter { $0 == [part] }.count == 8, "\(outcomes.map { $0.map(\.count) })")
        #expect(outcomes.filter { $0 == ["<over budget \(8 * limit)>"] }.count == 4)
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
