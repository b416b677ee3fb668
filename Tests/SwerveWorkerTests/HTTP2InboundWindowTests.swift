import Testing
import SwerveWorker

/// When a receive window is refilled: at half the target or below, counting
/// what a paused reader holds as not yet given back.
@Suite struct HTTP2InboundWindowTests {
    @Test func nothingUntilTheLibrarySaysTheSize() {
        var window = HTTP2InboundWindow(target: 100)
        #expect(window.release(0) == nil)
        #expect(window.initialWindowChanged(by: 50) == nil)
    }

    @Test func refilledToTheTargetAtHalfOrBelow() {
        var window = HTTP2InboundWindow(target: 100)
        #expect(window.windowChanged(to: 100) == nil)
        #expect(window.windowChanged(to: 51) == nil)
        #expect(window.windowChanged(to: 50) == 50)
        #expect(window.windowChanged(to: 0) == 100)
    }

    @Test func theFirstSmallWindowIsRaisedAtOnce() {
        // A stream opened with the protocol's 65,535 before our SETTINGS took effect.
        var window = HTTP2InboundWindow(target: 256 << 10)
        #expect(window.windowChanged(to: 65_535 - 1_000) == (256 << 10) - 64_535)
    }

    @Test func aPausedReaderGetsNoMoreUntilItTakesWhatItHolds() {
        var window = HTTP2InboundWindow(target: 100)
        #expect(window.windowChanged(to: 100) == nil)
        window.hold(60)
        #expect(window.windowChanged(to: 40) == nil)
        window.hold(40)
        #expect(window.windowChanged(to: 0) == nil)
        #expect(window.release(30) == nil)
        #expect(window.release(30) == 60)
        #expect(window.windowChanged(to: 60) == nil)
        #expect(window.release(40) == nil)
        #expect(window.held == 0)
    }

    @Test func aNegativeWindowIsMadeGoodAndBounded() {
        // SETTINGS may shrink a window below zero (RFC 9113 §6.9.2).
        var window = HTTP2InboundWindow(target: 100)
        #expect(window.windowChanged(to: -20) == 120)
        var huge = HTTP2InboundWindow(target: Int(Int32.max))
        #expect(huge.windowChanged(to: -5) == Int(Int32.max))
    }

    @Test func aSettingsChangeMovesTheWindow() {
        var window = HTTP2InboundWindow(target: 100)
        #expect(window.windowChanged(to: 70) == nil)
        #expect(window.initialWindowChanged(by: -30) == 60)
        #expect(window.window == 40)
    }
}
