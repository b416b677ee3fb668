import Glibc
import Logging
import SwerveConfig

/// swift-log handler for the error log: `2026-11-24T19:13:18Z [error] [12345] message`,
/// one unbuffered write per line (errors must survive a crash right after).
/// Used by the master and the workers alike; it starts no thread.
public struct ErrorLogHandler: LogHandler {
    private let file: LogFile
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public init(file: LogFile, level: Logger.Level) {
        self.file = file
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var text = "\(event.message)"
        let merged = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            text += " \(key)=\(value)"
        }
        let line = "\(HTTPDate.formatISO(Int(time(nil)))) [\(event.level.rawValue)] [\(getpid())] \(Self.sanitised(text))"
        file.write(line + "\n")
    }

    /// A message may carry what clients and scripts sent (a part's type, a
    /// script's stderr): control characters — LF, CR, ESC, NUL, C1 — and
    /// backslashes become `\xHH`, so no one can forge a line or drive a
    /// terminal, and a message is cut at `maxMessageBytes`, so no request can
    /// add kilobytes to the log.
    package static func sanitised(_ text: String) -> String {
        var out = ""
        var bytes = 0
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x5C {
                out += "\\x" + String(value, radix: 16, uppercase: true).leftPadded(to: 2)
                bytes += 4
            } else {
                out.unicodeScalars.append(scalar)
                bytes += UTF8.width(scalar)
            }
            if bytes > maxMessageBytes {
                out += "… (cut at \(maxMessageBytes) bytes)"
                break
            }
        }
        return out
    }

    package static let maxMessageBytes = 4096
}

extension LoggingSettings.Level {
    /// The config's level as swift-log's.
    public var swiftLogLevel: Logger.Level {
        switch self {
        case .debug: return .debug
        case .info: return .info
        case .warning: return .warning
        case .error: return .error
        }
    }
}

extension ErrorLogHandler {
    /// Opens the configured error log and makes it swift-log's backend for this
    /// process; the file is returned for USR1 reopens.
    public static func bootstrap(_ logging: LoggingSettings) throws -> (Logger, LogFile) {
        let file = try openFile(logging.errorLog)
        let level = logging.level.swiftLogLevel
        LoggingSystem.bootstrap { _ in ErrorLogHandler(file: file, level: level) }
        return (Logger(label: "swerve"), file)
    }

    /// The configured error log: a file opened for appending, or stderr.
    public static func openFile(_ destination: LoggingSettings.ErrorLog) throws(LogFileError) -> LogFile {
        switch destination {
        case .stderr: return try LogFile(path: nil, descriptor: STDERR_FILENO)
        case .file(let path): return try LogFile(path: path, descriptor: -1)
        }
    }

    /// A logger writing to `file` at `level`, apart from the process-wide
    /// bootstrap (a reload's new error log or level).
    public static func logger(file: LogFile, level: Logger.Level) -> Logger {
        Logger(label: "swerve") { _ in ErrorLogHandler(file: file, level: level) }
    }
}
