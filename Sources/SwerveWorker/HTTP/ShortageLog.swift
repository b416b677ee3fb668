import Logging

/// Logs a shortage the worker meets again and again — no descriptor left
/// (EMFILE), accept failing — at most once a second, with how often it
/// happened in between: a flood of requests must not become a flood of
/// log lines. Event loop only.
package final class ShortageLog: @unchecked Sendable {
    private let logger: Logger
    private let dates: DateCache
    private var lastSecond = Int.min
    private var suppressed = 0

    package init(logger: Logger, dates: DateCache) {
        self.logger = logger
        self.dates = dates
    }

    func report(_ message: @autoclosure () -> String) {
        let now = dates.now
        guard now != lastSecond else {
            suppressed += 1
            return
        }
        let more = suppressed > 0 ? " (and \(suppressed) more times in the last second)" : ""
        logger.error("\(message())\(more)")
        lastSecond = now
        suppressed = 0
    }
}
