/// One problem found in a config file, printed as compilers do:
/// `config/config.yaml:12:9: error: unknown key 'max_sise'; did you mean 'max_size'?`
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable, Equatable {
        case error, warning
    }

    public var severity: Severity
    public var file: String
    public var mark: Mark
    public var message: String

    public init(_ severity: Severity, file: String, at mark: Mark, _ message: String) {
        self.severity = severity
        self.file = file
        self.mark = mark
        self.message = message
    }

    public var description: String {
        "\(file):\(mark.line):\(mark.column): \(severity.rawValue): \(message)"
    }
}

/// Collects diagnostics so that one run reports every problem, not just the first.
public struct Diagnostics: Sendable {
    public let file: String
    public private(set) var items: [Diagnostic] = []

    public init(file: String) {
        self.file = file
    }

    public mutating func error(_ message: String, at mark: Mark) {
        items.append(Diagnostic(.error, file: file, at: mark, message))
    }

    public mutating func warning(_ message: String, at mark: Mark) {
        items.append(Diagnostic(.warning, file: file, at: mark, message))
    }

    public var errors: [Diagnostic] { items.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { items.filter { $0.severity == .warning } }
    public var hasErrors: Bool { items.contains { $0.severity == .error } }

    /// In file order, errors and warnings interleaved as they stand in the file.
    public var sorted: [Diagnostic] {
        items.enumerated().sorted { ($0.element.mark, $0.offset) < ($1.element.mark, $1.offset) }.map(\.element)
    }
}

/// The closest candidate within edit distance 2, for "did you mean …?" hints.
func suggestion(for word: String, among candidates: [String]) -> String? {
    var best: (name: String, distance: Int)?
    for candidate in candidates {
        let distance = editDistance(word, candidate)
        if distance <= 2, distance < (best?.distance ?? .max) {
            best = (candidate, distance)
        }
    }
    return best?.name
}

/// Levenshtein distance over characters; config keys are short, so O(n·m) is fine.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
