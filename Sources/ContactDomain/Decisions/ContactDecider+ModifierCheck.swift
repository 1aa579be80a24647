// ContactLedger — contact domain.

extension ContactDecider {
    /// Refuses `modifiers` that no contact could take, whatever contacts they are for: an undefined field,
    /// an unknown or smart group, a name, language, URN or value that is malformed, URN changes in an
    /// anonymous workspace. ``modify(_:modifiers:context:fieldPrefix:)`` refuses the same per contact; a
    /// bulk change checks first, so that its answer does not depend on how many contacts matched (with
    /// none, a misspelt field key was accepted and changed nothing). What depends on a contact (its
    /// status, a URN another contact owns) is left to that contact's turn.
    public static func checkModifiers(_ modifiers: [ContactModifier], context: DecisionContext, fieldPrefix: String = "modifiers") throws(ContactError) {
        for (index, modifier) in modifiers.enumerated() {
            let path = "\(fieldPrefix)[\(index)]"
            switch modifier {
            case .name(let raw):
                _ = try Self.validName(raw, field: "\(path).name")
            case .language(let raw):
                _ = try Self.validLanguage(raw, field: "\(path).language")
            case .status:
                break
            case .field(let key, let value):
                _ = try Self.definedField(key, value: value, field: "\(path).value", context: context)
            case .urns(_, let raw):
                try Self.requireURNsShown(path: path, context: context)
                try Self.requireURNCount(raw, field: "\(path).urns")
                for (position, text) in raw.enumerated() {
                    _ = try Self.parsedURN(text, field: "\(path).urns[\(position)]", context: context)
                }
            case .groups(_, let groups):
                for (position, uuid) in groups.enumerated() {
                    _ = try Self.manualGroup(uuid, field: "\(path).groups[\(position)]", context: context)
                }
            }
        }
    }
}
