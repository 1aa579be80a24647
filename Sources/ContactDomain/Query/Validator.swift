// ContactLedger — contact domain.

/// Checks parsed conditions against the workspace and reads their values (behaviour reference §5.4).
///
/// Conditions are checked left to right and the first error wins. For each condition the order is
/// goflow's: redacted URNs, unknown property, the comparator (`~`, then ordering comparators), set checks,
/// then the value for the property's type.
struct QueryValidator<Resolver: QueryResolver> {
    let resolver: Resolver

    /// Validates every condition of `node`, returning the typed tree.
    func validate(_ node: QueryParser.RawNode) throws(QueryError) -> QueryNode {
        switch node {
        case .condition(let condition):
            return .condition(try self.validate(condition))
        case .and(let children):
            var validated: [QueryNode] = []
            for child in children { validated.append(try self.validate(child)) }
            return .and(validated)
        case .or(let children):
            var validated: [QueryNode] = []
            for child in children { validated.append(try self.validate(child)) }
            return .or(validated)
        }
    }

    /// Validates one condition.
    func validate(_ raw: QueryParser.RawCondition) throws(QueryError) -> QueryCondition {
        let property: QueryProperty
        switch raw.property {
        case .attribute(let attribute): property = .attribute(attribute)
        case .scheme(let scheme): property = .scheme(scheme)
        case .field(let key):
            guard let type = self.resolver.fieldType(forKey: key) else {
                throw QueryError.unknownProperty(key, at: raw.propertySpan)
            }
            property = .field(key: key, type: type)
        case .unknownType(let type):
            throw QueryError.unknownPropertyType(type, at: raw.propertySpan)
        }

        if property.readsURNs && self.resolver.isAnonymous && !raw.value.isEmpty {
            throw QueryError.redactedURNs(raw.span)
        }

        let valueType = property.valueType
        switch raw.comparator {
        case .contains:
            if property == .attribute(.name) {
                if QueryNameTokenizer.tokens(in: raw.value).isEmpty {
                    throw QueryError.invalidPartialName(raw.valueSpan)
                }
            } else if property.readsURNs {
                if raw.value.utf8.count < 3 {
                    throw QueryError.invalidPartialURN(raw.valueSpan)
                }
            } else {
                throw QueryError.unsupportedContains(raw.key, at: raw.comparatorSpan)
            }
        case .greaterThan, .greaterThanOrEqual, .lessThan, .lessThanOrEqual:
            if valueType != .number && valueType != .datetime {
                throw QueryError.unsupportedComparison(raw.key, raw.comparator, at: raw.comparatorSpan)
            }
        case .equal, .notEqual:
            break
        }

        let typedValue: QueryValue
        if (raw.comparator == .equal || raw.comparator == .notEqual) && raw.value.isEmpty {
            if case .attribute(let attribute) = property, attribute.refusesSetCheck {
                throw QueryError.unsupportedSetCheck(raw.key, raw.comparator, at: raw.span)
            }
            typedValue = .empty
        } else {
            typedValue = try self.typedValue(of: raw, property: property)
        }

        return QueryCondition(
            property: property,
            comparator: raw.comparator,
            value: raw.value,
            typedValue: typedValue,
            isImplicit: raw.isImplicit,
            span: raw.span
        )
    }

    private func typedValue(
        of raw: QueryParser.RawCondition,
        property: QueryProperty
    ) throws(QueryError) -> QueryValue {
        switch property.valueType {
        case .number:
            guard let number = QueryValue.parseNumber(raw.value) else {
                throw QueryError.invalidValue(.invalidNumber, raw.value, at: raw.valueSpan)
            }
            return .number(number)
        case .datetime:
            guard
                let date = QueryDate.parse(
                    raw.value,
                    order: self.resolver.dateOrder,
                    currentYear: self.resolver.currentYear,
                    timeZone: self.resolver.timeZone
                )
            else {
                throw QueryError.invalidValue(.invalidDate, raw.value, at: raw.valueSpan)
            }
            return .date(date)
        case .text, .state, .district, .ward:
            break
        }
        guard case .attribute(let attribute) = property else { return .text(raw.value) }
        switch attribute {
        case .group:
            guard let name = self.resolver.groupName(matching: raw.value) else {
                throw QueryError.invalidValue(.invalidGroup, raw.value, at: raw.valueSpan)
            }
            return .group(name)
        case .flow, .history:
            guard let name = self.resolver.flowName(matching: raw.value) else {
                throw QueryError.invalidValue(.invalidFlow, raw.value, at: raw.valueSpan)
            }
            return .flow(name)
        case .status:
            guard let status = ContactStatus(rawValue: raw.value.lowercased()) else {
                throw QueryError.invalidValue(.invalidStatus, raw.value, at: raw.valueSpan)
            }
            return .status(status)
        case .language:
            guard self.resolver.isValidLanguage(raw.value) else {
                throw QueryError.invalidValue(.invalidLanguage, raw.value, at: raw.valueSpan)
            }
            return .language(raw.value.lowercased())
        case .uuid, .id, .ref, .name, .urn, .tickets, .createdOn, .lastSeenOn:
            return .text(raw.value)
        }
    }
}
