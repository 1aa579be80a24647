// ContactLedger — JSON text.
import Foundation

/// Decodes `Decodable` values straight from a parsed ``JSONValue``.
///
/// A call's `params` arrive already parsed; writing them back to JSON text only to parse them again
/// with `JSONDecoder` cost two passes per call. This decoder walks the value instead and throws the
/// same `DecodingError`s `JSONDecoder` does (type mismatch, missing key, null for a required value,
/// numbers that do not fit), each with the coding path of the bad member.
public struct JSONValueDecoder: Sendable {
    public init() {}

    /// Decodes a `T` from `value`.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try JSONValueDecoding(value: value, codingPath: []).decodeValue(T.self)
    }
}

/// One position in the value being decoded: the `Decoder` handed to each `init(from:)`.
private struct JSONValueDecoding: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = self.value else {
            throw self.mismatch([String: JSONValue].self, self.codingPath)
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: self.codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = self.value else {
            throw self.mismatch([JSONValue].self, self.codingPath)
        }
        return UnkeyedContainer(elements: elements, codingPath: self.codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(decoding: self)
    }

    /// Decodes a `T` here, taking the shortcuts `JSONDecoder` takes for the types it knows natively.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self, let value = self.value as? T { return value }
        if T.self == String.self, let text = try self.string() as? T { return text }
        if T.self == Decimal.self, let decimal = try self.decimal() as? T { return decimal }
        return try T(from: self)
    }

    func mismatch(_ type: Any.Type, _ path: [any CodingKey]) -> DecodingError {
        if self.value == .null {
            return .valueNotFound(type, .init(codingPath: path, debugDescription: "Cannot get \(type) -- found null value instead"))
        }
        return .typeMismatch(type, .init(codingPath: path, debugDescription: "Expected to decode \(type) but found \(self.value.kindName) instead."))
    }

    func string() throws -> String {
        guard case .string(let text) = self.value else { throw self.mismatch(String.self, self.codingPath) }
        return text
    }

    func bool() throws -> Bool {
        guard case .bool(let flag) = self.value else { throw self.mismatch(Bool.self, self.codingPath) }
        return flag
    }

    func double() throws -> Double {
        guard let number = self.value.doubleValue else { throw self.mismatch(Double.self, self.codingPath) }
        return number
    }

    func decimal() throws -> Decimal {
        switch self.value {
        case .integer(let number): return Decimal(number)
        // Through the shortest text that reads back as the same Double, as JSONDecoder reads the digits.
        case .double(let number): return Decimal(string: "\(number)") ?? Decimal(number)
        case .decimal(let number): return number
        default: throw self.mismatch(Decimal.self, self.codingPath)
        }
    }

    func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        let fitted: I?
        switch self.value {
        case .integer(let number): fitted = I(exactly: number)
        case .double(let number): fitted = number.rounded() == number ? I(exactly: number) : nil
        // Through the digits: a Double cannot hold every UInt64.
        case .decimal(let number): fitted = I(number.description)
        default: throw self.mismatch(I.self, self.codingPath)
        }
        guard let fitted else {
            throw DecodingError.dataCorrupted(.init(codingPath: self.codingPath, debugDescription: "Number does not fit in \(I.self)."))
        }
        return fitted
    }
}

extension JSONValue {
    /// The JSON kind, for error messages.
    fileprivate var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double, .decimal: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// An array index as a coding key, for paths such as `modifiers[2]`.
private struct IndexKey: CodingKey {
    var stringValue: String { "Index \(self.intValue ?? 0)" }
    var intValue: Int?
    init(_ index: Int) { self.intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { self.members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { self.members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValueDecoding {
        guard let value = self.members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: self.codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
        }
        return JSONValueDecoding(value: value, codingPath: self.codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { try self.member(key).value == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try self.member(key).bool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try self.member(key).string() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try self.member(key).double() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try self.member(key).double()) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try self.member(key).integer(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try self.member(key).integer(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try self.member(key).integer(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try self.member(key).integer(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try self.member(key).integer(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try self.member(key).integer(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try self.member(key).integer(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try self.member(key).integer(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try self.member(key).integer(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try self.member(key).integer(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try self.member(key).decodeValue(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try self.member(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try self.member(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        JSONValueDecoding(value: .object(self.members), codingPath: self.codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONValueDecoding(value: self.members[key.stringValue] ?? .null, codingPath: self.codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { self.elements.count }
    var isAtEnd: Bool { self.currentIndex >= self.elements.count }

    /// The next element, advancing past it only once it decoded.
    private mutating func next<T>(_ type: T.Type, _ body: (JSONValueDecoding) throws -> T) throws -> T {
        let path = self.codingPath + [IndexKey(self.currentIndex)]
        guard !self.isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "Unkeyed container is at end."))
        }
        let value = try body(JSONValueDecoding(value: self.elements[self.currentIndex], codingPath: path))
        self.currentIndex += 1
        return value
    }

    mutating func decodeNil() throws -> Bool {
        guard !self.isAtEnd, self.elements[self.currentIndex] == .null else { return false }
        self.currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try self.next(type) { try $0.bool() } }
    mutating func decode(_ type: String.Type) throws -> String { try self.next(type) { try $0.string() } }
    mutating func decode(_ type: Double.Type) throws -> Double { try self.next(type) { try $0.double() } }
    mutating func decode(_ type: Float.Type) throws -> Float { try self.next(type) { Float(try $0.double()) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try self.next(type) { try $0.integer(type) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try self.next(type) { try $0.integer(type) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try self.next(type) { try $0.integer(type) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try self.next(type) { try $0.integer(type) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try self.next(type) { try $0.integer(type) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try self.next(type) { try $0.integer(type) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try self.next(type) { try $0.integer(type) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try self.next(type) { try $0.integer(type) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try self.next(type) { try $0.integer(type) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try self.next(type) { try $0.integer(type) } }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try self.next(type) { try $0.decodeValue(type) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try self.next(KeyedDecodingContainer<NestedKey>.self) { try $0.container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try self.next((any UnkeyedDecodingContainer).self) { try $0.unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try self.next((any Decoder).self) { $0 }
    }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let decoding: JSONValueDecoding
    var codingPath: [any CodingKey] { self.decoding.codingPath }

    func decodeNil() -> Bool { self.decoding.value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try self.decoding.bool() }
    func decode(_ type: String.Type) throws -> String { try self.decoding.string() }
    func decode(_ type: Double.Type) throws -> Double { try self.decoding.double() }
    func decode(_ type: Float.Type) throws -> Float { Float(try self.decoding.double()) }
    func decode(_ type: Int.Type) throws -> Int { try self.decoding.integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try self.decoding.integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try self.decoding.integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try self.decoding.integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try self.decoding.integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try self.decoding.integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try self.decoding.integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try self.decoding.integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try self.decoding.integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try self.decoding.integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try self.decoding.decodeValue(type) }
}
