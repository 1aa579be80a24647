// ContactLedger — contact domain.
import CivilTime
import Foundation
import JSONText

/// Decides whether a contact matches a parsed query, with the matching rules of behaviour reference §5.5.
///
/// Text compares trimmed and case-insensitively; `~` on names matches word prefixes (first 8
/// characters), on URNs substrings; numbers compare as decimals; dates by day in the workspace
/// timezone; `!=` holds when no value equals; `= ""` / `!= ""` test existence.
public struct QueryEvaluator: Sendable {
    private let workspace: Workspace
    private let reference: AnonymousReference?
    /// The workspace's zone, looked up once (``Workspace/timeZone`` makes one from its name each time).
    private let timeZone: TimeZone

    public init(workspace: Workspace, reference: AnonymousReference? = nil) {
        self.workspace = workspace
        self.reference = reference
        self.timeZone = workspace.timeZone
    }

    /// Whether `contact` matches `query`.
    public func matches(_ contact: Contact, _ query: ContactQuery) -> Bool {
        self.matches(contact, query.root)
    }

    /// Whether `contact` matches `node`.
    public func matches(_ contact: Contact, _ node: QueryNode) -> Bool {
        switch node {
        case .condition(let condition): self.matches(contact, condition)
        case .and(let children): children.allSatisfy { self.matches(contact, $0) }
        case .or(let children): children.contains { self.matches(contact, $0) }
        }
    }

    /// A property's values on one contact.
    private enum Values {
        case text([String])
        case names([String])
        case urns([String])
        case numbers([Decimal])
        case dates([Date])

        var isEmpty: Bool {
            switch self {
            case .text(let values), .names(let values), .urns(let values): values.isEmpty
            case .numbers(let values): values.isEmpty
            case .dates(let values): values.isEmpty
            }
        }
    }

    private func values(of property: QueryProperty, for contact: Contact) -> Values {
        switch property {
        case .attribute(let attribute):
            switch attribute {
            case .uuid: return .text([contact.uuid.rawValue])
            case .id: return .text([String(contact.id)])
            case .ref: return .text(self.reference.map { [$0.encode(contact.id)] } ?? [])
            case .name: return .names(contact.name.map { [$0] } ?? [])
            case .status: return .text([contact.status.rawValue])
            case .language: return .text(contact.language.map { [$0] } ?? [])
            case .urn: return .urns(contact.urns.compactMap { try? URN(stored: $0).path })
            case .group: return .text(contact.groups.compactMap { self.workspace.group($0)?.name })
            case .flow, .history: return .text([])
            case .tickets: return .numbers([0])
            case .createdOn: return .dates([contact.createdOn.date])
            case .lastSeenOn: return .dates(contact.lastSeenOn.map { [$0.date] } ?? [])
            }
        case .scheme(let scheme):
            return .urns(contact.urns.compactMap { text in
                guard let urn = try? URN(stored: text), urn.scheme.rawValue == scheme else { return nil }
                return urn.path
            })
        case .field(let key, _):
            // The field's current type decides which reading counts.
            let type = self.workspace.field(key)?.type ?? .text
            guard let reading = contact.fields[key]?.reading(for: type, in: self.timeZone) else {
                return type == .number ? .numbers([]) : type == .datetime ? .dates([]) : .text([])
            }
            switch reading {
            case .text(let text): return .text([text])
            case .number(let number): return .numbers([number])
            case .datetime(let date): return .dates([date])
            case .location(let path): return .text([LocationHierarchy.name(ofPath: path)])
            }
        }
    }

    private func matches(_ contact: Contact, _ condition: QueryCondition) -> Bool {
        let values = self.values(of: condition.property, for: contact)
        if case .empty = condition.typedValue {
            switch condition.comparator {
            case .equal: return values.isEmpty
            case .notEqual: return !values.isEmpty
            default: return false
            }
        }
        switch values {
        case .text(let texts), .names(let texts), .urns(let texts):
            let needle = Self.fold(Self.text(of: condition.typedValue, raw: condition.value))
            switch condition.comparator {
            // Code point for code point, as the indexes compare (a precomposed é and a decomposed one
            // are two texts there, and were one here: live search and `as_of` answered differently).
            case .equal: return texts.contains { Self.fold($0).isCodePointEqual(to: needle) }
            case .notEqual: return !texts.contains { Self.fold($0).isCodePointEqual(to: needle) }
            case .contains:
                if case .urns = values { return texts.contains { Self.fold($0).containsCodePoints(of: needle) } }
                let wanted = QueryNameTokenizer.matchKeys(in: needle)
                return texts.contains { text in
                    let words = QueryNameTokenizer.matchKeys(in: text)
                    return words.contains { word in wanted.contains { word.hasCodePointPrefix($0) } }
                }
            case .greaterThan, .greaterThanOrEqual, .lessThan, .lessThanOrEqual:
                return false
            }
        case .numbers(let numbers):
            guard let target = Self.number(of: condition.typedValue, raw: condition.value) else { return false }
            switch condition.comparator {
            case .equal: return numbers.contains(target)
            case .notEqual: return !numbers.contains(target)
            case .greaterThan: return numbers.contains { $0 > target }
            case .greaterThanOrEqual: return numbers.contains { $0 >= target }
            case .lessThan: return numbers.contains { $0 < target }
            case .lessThanOrEqual: return numbers.contains { $0 <= target }
            case .contains: return false
            }
        case .dates(let dates):
            guard case .date(let day) = condition.typedValue, let (start, end) = self.interval(of: day) else { return false }
            switch condition.comparator {
            case .equal: return dates.contains { $0 >= start && $0 < end }
            case .notEqual: return !dates.contains { $0 >= start && $0 < end }
            case .greaterThan: return dates.contains { $0 >= end }
            case .greaterThanOrEqual: return dates.contains { $0 >= start }
            case .lessThan: return dates.contains { $0 < start }
            case .lessThanOrEqual: return dates.contains { $0 < end }
            case .contains: return false
            }
        }
    }

    /// [local midnight, next local midnight) of a day in the workspace timezone: from the first instant
    /// of the day to the first of the next. Where a clock jumps at midnight (Santiago, Beirut, Havana),
    /// the day begins at 01:00, and a day added to that instant ended at 01:00 the next day, an hour into it.
    /// Days are proleptic Gregorian, as stored values are (``CivilCalendar``): Foundation's `.gregorian`
    /// calendar is Julian before 1582-10-15, so `d = 1500-03-01` looked ten days away from the value.
    public func interval(of day: QueryDate) -> (Date, Date)? {
        let days = CivilCalendar.days(year: day.year, month: day.month, day: day.day)
        return (CivilCalendar.startOfDay(days: days, in: self.timeZone), CivilCalendar.startOfDay(days: days + 1, in: self.timeZone))
    }

    /// Text as queries compare it: trimmed and lowercased (§5.5). The indexes fold their terms with it too.
    public static func fold(_ text: String) -> String {
        text.trimmingWhitespaceAndNewlines().simpleLowercased()
    }

    private static func text(of value: QueryValue, raw: String) -> String {
        switch value {
        case .text(let text), .language(let text), .group(let text), .flow(let text): text
        case .status(let status): status.rawValue
        case .number, .date, .empty: raw
        }
    }

    private static func number(of value: QueryValue, raw: String) -> Decimal? {
        if case .number(let number) = value { return number }
        return QueryValue.parseNumber(raw)
    }
}
