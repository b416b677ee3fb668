/// A position in a text file, 1-based as compilers and GNU tools print it.
public struct Mark: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// Where a problem with the file as a whole (empty, too large) is reported.
    public static let start = Mark(line: 1, column: 1)

    public var description: String { "\(line):\(column)" }

    public static func < (lhs: Mark, rhs: Mark) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }
}

/// One node of a YAML document with the position it started at.
///
/// The config decoder never stops at the first problem and reports each one
/// at the exact place it found it, so every node keeps its `Mark`.
/// Aliases are already resolved: an alias is a copy of its anchor's node.
public struct Node: Sendable {
    public struct Pair: Sendable {
        public var key: Node
        public var value: Node
    }

    public enum Kind: Sendable {
        /// `plain` is true for an unquoted scalar without a tag: only those may
        /// mean null, a boolean or a number, as in YAML's core schema.
        case scalar(String, plain: Bool)
        case sequence([Node])
        case mapping([Pair])
    }

    public var kind: Kind
    public var mark: Mark

    public init(_ kind: Kind, at mark: Mark) {
        self.kind = kind
        self.mark = mark
    }

    /// The text of a scalar, nil for collections.
    public var scalar: String? {
        if case .scalar(let text, _) = kind { return text }
        return nil
    }

    /// True for `~`, `null`, `Null`, `NULL` and an empty plain scalar (`key:` with no value).
    public var isNull: Bool {
        guard case .scalar(let text, plain: true) = kind else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    /// What the node is, for messages: "a mapping", "a list", "a string".
    public var kindDescription: String {
        switch kind {
        case .scalar: return isNull ? "null" : "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}
