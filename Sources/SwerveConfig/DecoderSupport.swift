/// Typed reading of YAML nodes that reports problems instead of throwing:
/// each accessor returns nil after recording a diagnostic at the node, so the
/// decoder can go on and find the next problem too.
struct NodeReader {
    var diagnostics: Diagnostics

    /// The entries of a mapping by key, after reporting a non-mapping,
    /// duplicate keys and keys not in `known` (with a "did you mean" hint).
    /// `misplaced` maps keys that are valid elsewhere to a note saying where.
    mutating func fields(
        _ node: Node, of section: String, known: [String], misplaced: [String: String] = [:]
    ) -> Fields? {
        guard case .mapping(let pairs) = node.kind else {
            if node.isNull { return Fields(entries: [:]) }
            diagnostics.error("\(section) must be a mapping, found \(node.kindDescription)", at: node.mark)
            return nil
        }
        var entries: [String: Node.Pair] = [:]
        for pair in pairs {
            guard let key = pair.key.scalar else {
                diagnostics.error("keys in \(section) must be plain words, found \(pair.key.kindDescription)", at: pair.key.mark)
                continue
            }
            if let first = entries[key] {
                diagnostics.error("duplicate key '\(key)' in \(section) (first at \(first.key.mark))", at: pair.key.mark)
                continue
            }
            if !known.contains(key) {
                if let note = misplaced[key] {
                    diagnostics.error("key '\(key)' is not used by \(section) (\(note))", at: pair.key.mark)
                } else if let hint = suggestion(for: key, among: known) {
                    diagnostics.error("unknown key '\(key)' in \(section); did you mean '\(hint)'?", at: pair.key.mark)
                } else {
                    diagnostics.error("unknown key '\(key)' in \(section) (known keys: \(known.joined(separator: ", ")))", at: pair.key.mark)
                }
                continue
            }
            entries[key] = pair
        }
        return Fields(entries: entries)
    }

    /// A non-null scalar's text.
    mutating func string(_ node: Node, _ name: String) -> String? {
        guard case .scalar(let text, _) = node.kind, !node.isNull else {
            diagnostics.error("'\(name)' must be a string, found \(node.kindDescription)", at: node.mark)
            return nil
        }
        return text
    }

    /// A non-empty string without control characters (paths, names, commands).
    mutating func word(_ node: Node, _ name: String) -> String? {
        guard let text = string(node, name) else { return nil }
        if text.isEmpty {
            diagnostics.error("'\(name)' must not be empty", at: node.mark)
            return nil
        }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            diagnostics.error("'\(name)' must not contain control characters", at: node.mark)
            return nil
        }
        return text
    }

    mutating func int(_ node: Node, _ name: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, name) else { return nil }
        guard let value = Int(text) else {
            diagnostics.error("'\(name)' must be an integer, found '\(text)'", at: node.mark)
            return nil
        }
        return checked(value, node, name, in: range, shown: text)
    }

    mutating func bool(_ node: Node, _ name: String) -> Bool? {
        guard let text = string(node, name) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            diagnostics.error("'\(name)' must be true or false, found '\(text)'", at: node.mark)
            return nil
        }
    }

    mutating func size(_ node: Node, _ name: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, name) else { return nil }
        do {
            return checked(try ByteSize.parse(text), node, name, in: range, shown: text, format: ByteSize.format)
        } catch {
            diagnostics.error("'\(name)': \(error.message)", at: node.mark)
            return nil
        }
    }

    mutating func duration(_ node: Node, _ name: String) -> Duration? {
        guard let text = string(node, name) else { return nil }
        do {
            let value = try DurationText.parse(text)
            guard value > .zero else {
                diagnostics.error("'\(name)' must be longer than zero, found '\(text)'", at: node.mark)
                return nil
            }
            return value
        } catch {
            diagnostics.error("'\(name)': \(error.message)", at: node.mark)
            return nil
        }
    }

    /// `one` or `[one, two]`: a lone scalar stands for a one-item list.
    mutating func list(_ node: Node, _ name: String) -> [Node]? {
        switch node.kind {
        case .sequence(let items): return items
        case .scalar where !node.isNull: return [node]
        default:
            diagnostics.error("'\(name)' must be a list, found \(node.kindDescription)", at: node.mark)
            return nil
        }
    }

    /// A mapping of scalar keys to scalar values, in file order.
    mutating func stringMap(_ node: Node, _ name: String) -> [(key: Node, value: String)]? {
        guard case .mapping(let pairs) = node.kind else {
            if node.isNull { return [] }
            diagnostics.error("'\(name)' must be a mapping, found \(node.kindDescription)", at: node.mark)
            return nil
        }
        var result: [(key: Node, value: String)] = []
        var seen: [String: Mark] = [:]
        for pair in pairs {
            guard let key = pair.key.scalar else {
                diagnostics.error("keys of '\(name)' must be scalars, found \(pair.key.kindDescription)", at: pair.key.mark)
                continue
            }
            if let first = seen[key] {
                diagnostics.error("duplicate key '\(key)' in '\(name)' (first at \(first))", at: pair.key.mark)
                continue
            }
            seen[key] = pair.key.mark
            if let value = string(pair.value, "\(name).\(key)") {
                result.append((pair.key, value))
            }
        }
        return result
    }

    private mutating func checked(
        _ value: Int, _ node: Node, _ name: String, in range: ClosedRange<Int>, shown: String,
        format: (Int) -> String = { String($0) }
    ) -> Int? {
        guard range.contains(value) else {
            diagnostics.error(
                "'\(name)' must be between \(format(range.lowerBound)) and \(format(range.upperBound)), found '\(shown)'",
                at: node.mark)
            return nil
        }
        return value
    }
}

/// The checked entries of one mapping.
struct Fields {
    var entries: [String: Node.Pair]

    subscript(key: String) -> Node? {
        guard let pair = entries[key], !pair.value.isNull else { return nil }
        return pair.value
    }

    /// Where the key itself was written (for "missing value" style messages).
    func keyMark(_ key: String) -> Mark? { entries[key]?.key.mark }
}
