// ContactLedger — read model tests.
import ContactDomain
import Foundation
@testable import Projections
import Testing

/// The index's key bytes are what stored read models hold: building them in place must give exactly
/// the layout they were written in (a tag, the field key or scheme, then the value, NUL-separated).
struct ContactIndexKeyTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func termsLayOutTheirBytesAsStored() throws {
        let group = try #require(GroupUUID("0b8e6f3a-1f0e-4c55-9a53-2d1f6a1b7c11"))
        let long = String(repeating: "x", count: 200)
        let cases: [(ContactIndex.Term, [UInt8], [UInt8])] = [
            (.fieldText(key: "city", text: "dakar"), Self.bytes("t\u{0}city\u{0}"), Self.bytes("dakar\u{0}")),
            (.fieldText(key: "bio", text: long), Self.bytes("t\u{0}bio\u{0}"), ContactIndex.Term.textBytes(long) + [0]),
            (.fieldLocation(key: "ward", name: "remera"), Self.bytes("l\u{0}ward\u{0}"), Self.bytes("remera\u{0}")),
            (.fieldNumber(key: "age", value: 1), Self.bytes("n\u{0}age\u{0}"), [0xBF, 0xF0, 0, 0, 0, 0, 0, 0]),
            (.fieldNumber(key: "age", value: -1), Self.bytes("n\u{0}age\u{0}"), [0x40, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            (.fieldNumberApproximate(key: "age", value: 0.1), Self.bytes("a\u{0}age\u{0}"), ContactIndex.Term.orderedBytes(0.1)),
            (.fieldDate(key: "when", microseconds: 0), Self.bytes("d\u{0}when\u{0}"), [0x80, 0, 0, 0, 0, 0, 0, 0]),
            (.nameWord("ann"), Self.bytes("w\u{0}"), Self.bytes("ann\u{0}")),
            (.status(.blocked), Self.bytes("s\u{0}"), Self.bytes("blocked\u{0}")),
            (.group(group), Self.bytes("g\u{0}"), Self.bytes("0b8e6f3a-1f0e-4c55-9a53-2d1f6a1b7c11\u{0}")),
            (.urnTrigram(scheme: "tel", trigram: "250"), Self.bytes("u\u{0}tel\u{0}"), Self.bytes("250\u{0}")),
        ]
        // A long text is hashed: "#" and 32 bytes.
        #expect(ContactIndex.Term.textBytes(long).count == 33 && ContactIndex.Term.textBytes(long).first == UInt8(ascii: "#"))
        for (term, prefix, value) in cases {
            #expect(term.prefix == prefix, "\(term)")
            #expect(term.value == value, "\(term)")
            var appended = [UInt8(ascii: "k")]
            term.appendPrefix(to: &appended)
            term.appendValue(to: &appended)
            #expect(appended == [UInt8(ascii: "k")] + prefix + value, "\(term)")
        }
    }
}
