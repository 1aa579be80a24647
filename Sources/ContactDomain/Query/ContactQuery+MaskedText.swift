// ContactLedger — contact domain.

extension ContactQuery {
    /// A stored query's text as an anonymous workspace shows it: the canonical text (§5.7) with the value
    /// of every condition that reads URN paths replaced by ``URN/anonymousMask``, e.g.
    /// `urns.tel = "+250788500002" AND fields.age > 18` → `urns.tel = "********" AND fields.age > 18`.
    ///
    /// The text is read by the grammar alone, not against the workspace: a smart group's query must be
    /// masked as surely when it no longer validates (a field's type changed under it) and in an
    /// anonymous workspace, whose resolver refuses URN values outright. A bare value (an implicit
    /// condition, never in canonical text but possible in text stored otherwise) is masked too: read as a
    /// name search it could still be part of a phone number. Text that does not parse, or is too long or
    /// nested too deep to be parsed safely, is masked whole: what it holds cannot be told apart.
    ///
    /// ```swift
    /// ContactQuery.textMaskingURNValues(#"urns.tel = "+250788500002""#)  // `urns.tel = "********"`
    /// ContactQuery.textMaskingURNValues("fields.age > 18")              // `fields.age > 18`
    /// ContactQuery.textMaskingURNValues("(urns.tel =")                  // `********`
    /// ```
    ///
    /// - Parameter text: The query as stored (a smart group's, a `group_created` event's).
    /// - Returns: The canonical text with URN values masked, or ``URN/anonymousMask`` alone.
    public static func textMaskingURNValues(_ text: String) -> String {
        // Masking what was masked changes nothing (an answer replayed masked as the workspace is now may
        // have been masked when first given); the mask alone would read as a name search.
        guard text != URN.anonymousMask else { return text }
        let scalars = Array(text.unicodeScalars.trimmingQueryWhitespace())
        // The parser's recursion is bounded only by this check, as in ``parse(_:resolver:)``.
        guard scalars.count <= ContactQuery.maxLength, !ContactQuery.nestingExceedsLimit(scalars) else {
            return URN.anonymousMask
        }
        var parser = QueryParser(tokens: QueryLexer.tokenize(scalars, offset: 0), isAnonymous: false)
        guard let raw = try? parser.parse(), let masked = ContactQuery.maskingURNValues(raw) else {
            return URN.anonymousMask
        }
        return QueryNormalizer.canonicalText(of: masked)
    }

    /// `raw` as a tree the normalizer writes, URN and implicit values masked; nil for a property the
    /// canonical text cannot name (`type.key` of an unknown type keeps only the type).
    ///
    /// The typed values are placeholders: the normalizer writes `value`, and this tree is never evaluated.
    private static func maskingURNValues(_ raw: QueryParser.RawNode) -> QueryNode? {
        switch raw {
        case .condition(let condition):
            let property: QueryProperty
            switch condition.property {
            case .attribute(let attribute): property = .attribute(attribute)
            case .scheme(let scheme): property = .scheme(scheme)
            case .field(let key): property = .field(key: key, type: .text)
            case .unknownType: return nil
            }
            // `urns.tel = ""` (has no phone) shows nothing of anyone's and stays as written.
            let hides = (property.readsURNs || condition.isImplicit) && !condition.value.isEmpty
            let value = hides ? URN.anonymousMask : condition.value
            let masked = QueryCondition(
                property: property, comparator: condition.comparator, value: value, typedValue: .text(value)
            )
            return .condition(masked)
        case .and(let children):
            let masked = children.compactMap(ContactQuery.maskingURNValues)
            return masked.count == children.count ? .and(masked) : nil
        case .or(let children):
            let masked = children.compactMap(ContactQuery.maskingURNValues)
            return masked.count == children.count ? .or(masked) : nil
        }
    }
}
