import Foundation
import Testing
import SwerveConfig

/// A fresh folder under /tmp (mkdtemp), removed with everything in it when
/// the value goes away. Each test makes its own, so tests can run in parallel.
final class TempDir {
    /// Absolute and symlink-free, so paths the loader resolves compare equal.
    let path: String

    init() throws {
        var template = Array("/tmp/swerve-config-tests.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            throw TempDirError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let raw = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        path = FileSystem.realPath(raw) ?? raw
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `path` + "/" + `relative`.
    func url(_ relative: String) -> String {
        relative.isEmpty ? path : path + "/" + relative
    }

    /// Creates folders (with their parents); returns self for chaining.
    @discardableResult
    func mkdir(_ relatives: String...) throws -> TempDir {
        for relative in relatives {
            try FileManager.default.createDirectory(atPath: url(relative), withIntermediateDirectories: true)
        }
        return self
    }

    /// Writes a file, creating its parent folders.
    @discardableResult
    func write(_ relative: String, _ text: String = "") throws -> String {
        try write(relative, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ relative: String, bytes: [UInt8]) throws -> String {
        let full = url(relative)
        let parent = FileSystem.parent(of: full)
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else {
            throw TempDirError("cannot write \(full)")
        }
        return full
    }

    /// The usual site layout: www/, www/uploads, www/cgi-bin, www/index.html.
    @discardableResult
    func site() throws -> TempDir {
        try mkdir("www", "www/uploads", "www/cgi-bin")
        try write("www/index.html", "<h1>hi</h1>\n")
        return self
    }
}

struct TempDirError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Loads YAML text as if it were `<dir>/<subfolder>/config.yaml`
/// (`subfolder` empty: the temp folder itself).
func load(_ yaml: String, in dir: TempDir, subfolder: String = "", file: String = "config.yaml") -> ConfigLoader.Outcome {
    ConfigLoader.load(text: yaml, file: file, directory: dir.url(subfolder))
}

extension ConfigLoader.Outcome {
    /// Diagnostics as printed, in file order.
    var printed: [String] { diagnostics.sorted.map(\.description) }
    var errorLines: [String] { diagnostics.sorted.filter { $0.severity == .error }.map(\.description) }
}

/// Reads YAML or records the error as a test failure.
func readYAML(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Node? {
    do {
        return try YAMLReader.read(Array(text.utf8))
    } catch {
        Issue.record("unexpected YAML error \(error.mark): \(error.message)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The YAML error for `bytes`, or a recorded failure when it parses.
func yamlError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> YAMLError? {
    do {
        _ = try YAMLReader.read(bytes)
        Issue.record("expected a YAML error", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

func yamlError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> YAMLError? {
    yamlError(Array(text.utf8), sourceLocation: sourceLocation)
}

extension Node {
    /// Value of a mapping key (first match), nil when absent or not a mapping.
    subscript(key: String) -> Node? {
        guard case .mapping(let pairs) = kind else { return nil }
        return pairs.first { $0.key.scalar == key }?.value
    }

    subscript(index: Int) -> Node? {
        guard case .sequence(let items) = kind, items.indices.contains(index) else { return nil }
        return items[index]
    }

    var items: [Node]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }

    var pairs: [Node.Pair]? {
        if case .mapping(let pairs) = kind { return pairs }
        return nil
    }

    var isPlain: Bool? {
        if case .scalar(_, let plain) = kind { return plain }
        return nil
    }
}

/// Shorthand for a 1-based position.
func at(_ line: Int, _ column: Int) -> Mark { Mark(line: line, column: column) }
