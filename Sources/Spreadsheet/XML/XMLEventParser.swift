// ContactLedger — spreadsheets.
import CLibXML2
import Foundation

/// Receives the events of one XML part.
protocol XMLEventHandler: AnyObject {
    /// An element starts; `name` is its local name (any prefix dropped).
    func start(_ name: String, attributes: XMLAttributes)
    /// An element ends.
    func end(_ name: String)
    /// Character data (a text node may arrive in several pieces).
    func characters(_ text: String)
    /// Set once the handler refuses the part: the parse stops there.
    var failure: SpreadsheetError? { get }
}

/// An element's attributes, by qualified name (`r:id`), in document order.
///
/// A small array rather than a dictionary: elements carry one to three attributes, and hashing them
/// into a dictionary per cell cost more than finding one by comparison.
struct XMLAttributes: Sequence {
    fileprivate(set) var pairs: [(key: String, value: String)] = []

    subscript(name: String) -> String? {
        self.pairs.first { $0.key == name }?.value
    }

    func makeIterator() -> IndexingIterator<[(key: String, value: String)]> { self.pairs.makeIterator() }
}

/// Parses an XML part with libxml2's SAX2 push parser and hands its events to an ``XMLEventHandler``,
/// the part pushed in chunks as they come (``push(_:)``, then ``finish()``), so that it is never held
/// whole.
///
/// Why not Foundation's `XMLParser`: on Linux it wraps the same libxml2 but, per element, loads its
/// weak delegate, builds an attribute dictionary through bridging and strings for every name, which
/// was most of the time spent reading a sheet. Here names are short strings (stored inline, not
/// allocated) and attributes a small array.
///
/// Every chunk has passed ``XMLPartGuard`` first (no DTD, so no entity of its own; UTF-8; bounded depth
/// and attributes). The parser never touches the network (`XML_PARSE_NONET`), substitutes no entities
/// and keeps libxml2's own size limits; its messages are dropped, not printed. Chunks stay small
/// (tens of KiB): libxml2 refuses to look ahead over more than 10 MB of unparsed input at once ("huge
/// input lookup") unless told to lift its limits, which stay on.
///
/// Not thread-safe: one part, one parser, used by one thread; the handler's callbacks run inside
/// ``push(_:)`` and ``finish()``.
final class XMLEventParser {
    let handler: any XMLEventHandler
    /// Nil when libxml2 could not make a context (out of memory): every push then fails.
    private var parser: xmlParserCtxtPtr?
    /// Set once the parse has ended early: the handler refused the part, or the text is not XML.
    private var stopped = false

    init(handler: any XMLEventHandler) {
        self.handler = handler
        var sax = xmlSAXHandler()
        sax.initialized = UInt32(XML_SAX2_MAGIC)
        sax.startElementNs = { context, localName, _, _, _, _, attributeCount, _, attributes in
            guard let session = XMLEventParser.from(context), let localName else { return }
            var list = XMLAttributes()
            if let attributes, attributeCount > 0 {
                list.pairs.reserveCapacity(Int(attributeCount))
                for index in 0..<Int(attributeCount) {
                    // Five pointers an attribute: local name, prefix, URI, value start, value end.
                    guard let name = attributes[index * 5], let start = attributes[index * 5 + 3], let end = attributes[index * 5 + 4] else { continue }
                    var key = XMLEventParser.text(name)
                    if let prefix = attributes[index * 5 + 1] { key = XMLEventParser.text(prefix) + ":" + key }
                    let bytes = UnsafeBufferPointer(start: start, count: max(end - start, 0))
                    var value = String(decoding: bytes, as: UTF8.self)
                    // Not substituting entities, libxml2 decodes every reference in an attribute value
                    // but an ampersand, which it hands over as `&#38;`.
                    if bytes.contains(UInt8(ascii: "&")) { value = value.replacingOccurrences(of: "&#38;", with: "&") }
                    list.pairs.append((key, value))
                }
            }
            session.handler.start(XMLEventParser.text(localName), attributes: list)
            session.stopIfRefused()
        }
        sax.endElementNs = { context, localName, _, _ in
            guard let session = XMLEventParser.from(context), let localName else { return }
            session.handler.end(XMLEventParser.text(localName))
            session.stopIfRefused()
        }
        sax.characters = { context, characters, length in
            guard let session = XMLEventParser.from(context), let characters, length > 0 else { return }
            session.handler.characters(String(decoding: UnsafeBufferPointer(start: characters, count: Int(length)), as: UTF8.self))
            session.stopIfRefused()
        }
        // CDATA sections are text too (Excel writes none; other producers may).
        sax.cdataBlock = sax.characters
        sax.serror = { _, _ in }
        // libxml2 copies the handler table, and holds `self` only as an unretained pointer: the context
        // is freed in deinit, so no callback outlives this object.
        let context = Unmanaged.passUnretained(self).toOpaque()
        self.parser = xmlCreatePushParserCtxt(&sax, context, nil, 0, nil)
        if let parser = self.parser {
            xmlCtxtUseOptions(parser, Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue))
        }
    }

    deinit {
        if let parser = self.parser { xmlFreeParserCtxt(parser) }
    }

    /// Parses the next `bytes` of the part; false once the text is not well-formed XML or the handler
    /// has refused it (the parse is over then: later pushes change nothing).
    func push(_ bytes: [UInt8]) -> Bool {
        self.parse(bytes, isLast: false)
    }

    /// Ends the part; true when the whole of it was well-formed XML and the handler accepted it.
    func finish() -> Bool {
        self.parse([], isLast: true)
    }

    private func parse(_ bytes: [UInt8], isLast: Bool) -> Bool {
        guard let parser = self.parser, !self.stopped else { return false }
        let status = bytes.withUnsafeBufferPointer { buffer in
            let pointer = buffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            return xmlParseChunk(parser, pointer, Int32(buffer.count), isLast ? 1 : 0)
        }
        if status != 0 || parser.pointee.wellFormed == 0 || self.handler.failure != nil { self.stopped = true }
        return !self.stopped
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> XMLEventParser? {
        context.map { Unmanaged<XMLEventParser>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Stops the parser once the handler has refused the part.
    private func stopIfRefused() {
        guard !self.stopped, self.handler.failure != nil, let parser = self.parser else { return }
        self.stopped = true
        xmlStopParser(parser)
    }

    /// A NUL-terminated libxml2 name as a string.
    private static func text(_ name: UnsafePointer<xmlChar>) -> String {
        String(cString: name)
    }
}
