// ContactLedger — contact domain.

/// A node of a parsed contact query: a condition, or an AND / OR of two or more nodes.
///
/// Parsed trees are simplified as goflow does: a combination never has a direct child with the same
/// operator (`a AND (b AND c)` is one AND of three), so AND nodes hold conditions and OR nodes, and OR
/// nodes hold conditions and AND nodes. Children keep the order they were written in.
public indirect enum QueryNode: Sendable, Hashable {
    /// A single comparison.
    case condition(QueryCondition)
    /// True when every child is true.
    case and([QueryNode])
    /// True when any child is true.
    case or([QueryNode])

    /// Every condition in the tree, left to right.
    public var conditions: [QueryCondition] {
        var result: [QueryCondition] = []
        self.collectConditions(into: &result)
        return result
    }

    /// Combines `lhs` and `rhs` with AND, flattening children that are already ANDs.
    public static func and(_ lhs: QueryNode, _ rhs: QueryNode) -> QueryNode {
        .and(lhs.andChildren + rhs.andChildren)
    }

    /// Combines `lhs` and `rhs` with OR, flattening children that are already ORs.
    public static func or(_ lhs: QueryNode, _ rhs: QueryNode) -> QueryNode {
        .or(lhs.orChildren + rhs.orChildren)
    }

    private var andChildren: [QueryNode] {
        if case .and(let children) = self { return children }
        return [self]
    }

    private var orChildren: [QueryNode] {
        if case .or(let children) = self { return children }
        return [self]
    }

    private func collectConditions(into result: inout [QueryCondition]) {
        switch self {
        case .condition(let condition): result.append(condition)
        case .and(let children), .or(let children):
            for child in children { child.collectConditions(into: &result) }
        }
    }
}
