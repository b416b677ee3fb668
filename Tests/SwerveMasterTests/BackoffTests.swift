import SwerveMaster
import Testing

@Suite struct BackoffTests {
    @Test func aWorkerThatServedIsReplacedAtOnceEveryTime() {
        var backoff = Backoff()
        // A request that kills every worker it reaches must not buy downtime.
        for _ in 0..<10 { #expect(backoff.delay(afterLifetime: 0.2, wasReady: true) == 0) }
        #expect(backoff.failures == 0)
    }

    @Test func startUpDeathsBackOffDoublingToThirtySeconds() {
        var backoff = Backoff()
        let delays = (0..<8).map { _ in backoff.delay(afterLifetime: 0.1, wasReady: false) }
        #expect(delays == [1, 2, 4, 8, 16, 30, 30, 30])
    }

    @Test func aWorkerThatBecameReadyEndsTheStartUpStreak() {
        var backoff = Backoff()
        _ = backoff.delay(afterLifetime: 0.1, wasReady: false)
        _ = backoff.delay(afterLifetime: 0.1, wasReady: false)
        #expect(backoff.delay(afterLifetime: 5, wasReady: true) == 0)
        #expect(backoff.delay(afterLifetime: 0.1, wasReady: false) == 1)
    }

    @Test func aLongLifeCountsAsHealthy() {
        var backoff = Backoff()
        _ = backoff.delay(afterLifetime: 0.1, wasReady: false)
        #expect(backoff.delay(afterLifetime: Backoff.healthyLifetime, wasReady: false) == 0)
        #expect(backoff.failures == 0)
    }
}
