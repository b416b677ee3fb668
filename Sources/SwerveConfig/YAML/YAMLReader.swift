import CYAML

/// A problem libyaml (or the tree builder) found, with its position.
public struct YAMLError: Error, Sendable, Equatable {
    public var message: String
    public var mark: Mark

    package init(message: String, mark: Mark) {
        self.message = message
        self.mark = mark
    }
}

/// Reads one YAML document into a `Node` tree through libyaml's event API.
///
/// Events rather than libyaml's document loader, because the loader drops
/// the positions we need for `file:line:col` diagnostics and expands aliases
/// without any bound. Builds the tree with an explicit stack (no recursion),
/// so deep or huge inputs end in an error, never a stack overflow or a hang.
public enum YAMLReader {
    /// Nesting deeper than this is refused: no config needs it and deep trees
    /// cost recursion later.
    public static let maxDepth = 64
    /// Upper bound on nodes after alias expansion ("billion laughs" guard).
    public static let maxNodes = 200_000

    /// Parses `bytes`, which must hold at most one document.
    /// Returns nil for an empty stream (no document, or only comments).
    public static func read(_ bytes: [UInt8]) throws(YAMLError) -> Node? {
        var builder = TreeBuilder()
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError(message: "cannot initialise the YAML parser (out of memory)", mark: .start)
        }
        defer { yaml_parser_delete(&parser) }

        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLError) -> Node? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    throw syntaxError(parser, bytes: buffer)
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return builder.document }
                try builder.handle(event)
            }
        }
    }

    /// libyaml's own message, made 1-based, with a hint for the classic tab mistake.
    private static func syntaxError(_ parser: yaml_parser_t, bytes: UnsafeBufferPointer<UInt8>) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        let mark: Mark
        if parser.error == YAML_READER_ERROR {
            // Reader errors (bad UTF-8, control bytes) carry a byte offset, not a mark.
            mark = position(ofByte: parser.problem_offset, in: bytes)
        } else {
            mark = Mark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
        }
        var message = problem
        if let context = parser.context.map({ String(cString: $0) }) {
            message += " (\(context))"
        }
        if parser.error == YAML_SCANNER_ERROR, byte(atLine: mark.line, column: mark.column, in: bytes) == UInt8(ascii: "\t") {
            message += "; tabs are not allowed for indentation in YAML, use spaces"
        }
        return YAMLError(message: "YAML syntax: \(message)", mark: clamped(mark, to: bytes))
    }

    /// The byte that starts character `column` of `line` (both 1-based; libyaml counts characters).
    private static func byte(atLine line: Int, column: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UInt8? {
        var index = 0
        var currentLine = 1
        while currentLine < line {
            guard let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            index = newline + 1
            currentLine += 1
        }
        var characters = 1
        while index < bytes.count && characters < column {
            index += 1
            while index < bytes.count && bytes[index] & 0xC0 == 0x80 { index += 1 }  // continuation bytes
            characters += 1
        }
        return index < bytes.count ? bytes[index] : nil
    }

    /// libyaml reports an error at the very end of a file without a final
    /// newline one line further down; keep the position inside the file.
    private static func clamped(_ mark: Mark, to bytes: UnsafeBufferPointer<UInt8>) -> Mark {
        guard !bytes.isEmpty, bytes.last != UInt8(ascii: "\n") else { return mark }
        let lines = bytes.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        guard mark.line > lines else { return mark }
        let lastLineStart = (bytes.lastIndex(of: UInt8(ascii: "\n")) ?? -1) + 1
        let characters = bytes[lastLineStart...].reduce(0) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 }
        return Mark(line: lines, column: characters + 1)
    }

    private static func position(ofByte offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Mark {
        var line = 1
        var lineStart = 0
        for i in 0..<min(offset, bytes.count) where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        let characters = lineStart < offset ? bytes[lineStart..<min(offset, bytes.count)].reduce(0) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 } : 0
        return Mark(line: line, column: characters + 1)
    }
}

/// Turns the event stream into a tree: a stack of open collections, anchors
/// remembered with their expanded size so that aliases are bounded.
private struct TreeBuilder {
    /// An open collection. A class, so appending to it in place never copies
    /// the items gathered so far (long lists stay linear).
    private final class Open {
        let isMapping: Bool
        let mark: Mark
        let anchor: String?
        var weight = 1
        var items: [Node] = []
        var pairs: [Node.Pair] = []
        var pendingKey: Node?

        init(isMapping: Bool, mark: Mark, anchor: String?) {
            self.isMapping = isMapping
            self.mark = mark
            self.anchor = anchor
        }
    }

    private var stack: [Open] = []
    private var anchors: [String: (node: Node, weight: Int)] = [:]
    private var totalNodes = 0
    private(set) var document: Node?
    private var documents = 0

    mutating func handle(_ event: yaml_event_t) throws(YAMLError) {
        let mark = Mark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                throw YAMLError(message: "the config must hold one YAML document, this is a second one", mark: mark)
            }
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = Self.string(scalar.value, length: scalar.length)
            let plain = scalar.style == YAML_PLAIN_SCALAR_STYLE && scalar.tag == nil
            try add(Node(.scalar(text, plain: plain), at: mark), weight: 1, anchor: Self.optionalString(scalar.anchor), mark: mark)
        case YAML_ALIAS_EVENT:
            let name = Self.optionalString(event.data.alias.anchor) ?? ""
            guard let target = anchors[name] else {
                throw YAMLError(message: "unknown alias '*\(name)'", mark: mark)
            }
            var copy = target.node
            copy.mark = mark
            try add(copy, weight: target.weight, anchor: nil, mark: mark)
        case YAML_SEQUENCE_START_EVENT:
            try push(Open(isMapping: false, mark: mark, anchor: Self.optionalString(event.data.sequence_start.anchor)), at: mark)
        case YAML_MAPPING_START_EVENT:
            try push(Open(isMapping: true, mark: mark, anchor: Self.optionalString(event.data.mapping_start.anchor)), at: mark)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let open = stack.popLast() else { return }
            let node = open.isMapping
                ? Node(.mapping(Self.applyingMergeKeys(open.pairs)), at: open.mark)
                : Node(.sequence(open.items), at: open.mark)
            try add(node, weight: open.weight, anchor: open.anchor, mark: open.mark, counted: true)
        default:
            break
        }
    }

    private mutating func push(_ open: Open, at mark: Mark) throws(YAMLError) {
        guard stack.count < YAMLReader.maxDepth else {
            throw YAMLError(message: "nesting deeper than \(YAMLReader.maxDepth) levels", mark: mark)
        }
        try count(1, at: mark)
        stack.append(open)
    }

    private mutating func count(_ weight: Int, at mark: Mark) throws(YAMLError) {
        totalNodes += weight
        if totalNodes > YAMLReader.maxNodes {
            throw YAMLError(
                message: "document has more than \(YAMLReader.maxNodes) nodes once aliases are expanded; refusing it",
                mark: mark)
        }
    }

    /// Adds a finished node to the innermost open collection (or makes it the document).
    /// `counted` is true for collections, whose own node was counted at push time.
    private mutating func add(_ node: Node, weight: Int, anchor: String?, mark: Mark, counted: Bool = false) throws(YAMLError) {
        if !counted { try count(weight, at: mark) }
        if let anchor { anchors[anchor] = (node, weight) }
        guard let top = stack.last else {
            document = node
            return
        }
        top.weight += weight
        if !top.isMapping {
            top.items.append(node)
        } else if let key = top.pendingKey {
            top.pairs.append(Node.Pair(key: key, value: node))
            top.pendingKey = nil
        } else {
            top.pendingKey = node
        }
    }

    /// YAML 1.1 merge keys (`<<: *defaults`): merged entries never override explicit ones.
    private static func applyingMergeKeys(_ pairs: [Node.Pair]) -> [Node.Pair] {
        guard pairs.contains(where: { isMergeKey($0.key) }) else { return pairs }
        var result = pairs.filter { !isMergeKey($0.key) }
        var present = Set(result.compactMap { $0.key.scalar })
        for pair in pairs where isMergeKey(pair.key) {
            let sources: [Node]
            switch pair.value.kind {
            case .mapping: sources = [pair.value]
            case .sequence(let items): sources = items
            case .scalar: sources = []
            }
            for source in sources {
                guard case .mapping(let merged) = source.kind else { continue }
                for entry in merged {
                    guard let key = entry.key.scalar, !present.contains(key) else { continue }
                    present.insert(key)
                    result.append(entry)
                }
            }
        }
        return result
    }

    private static func isMergeKey(_ node: Node) -> Bool {
        if case .scalar("<<", plain: true) = node.kind { return true }
        return false
    }

    private static func string(_ pointer: UnsafeMutablePointer<UInt8>?, length: Int) -> String {
        guard let pointer else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private static func optionalString(_ pointer: UnsafeMutablePointer<UInt8>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }
}
