/// When to give a sender more receive window (WINDOW_UPDATE), for one
/// stream or for the connection. The library keeps the window's accounting
/// and polices the peer; this is only the policy, the one NIOHTTP2's stream
/// channels apply: once what the peer may still send, plus what arrived but
/// was not yet taken by its reader, falls to half the target or below,
/// raise it back to the target. A paused reader (an upload waiting on the
/// disk) takes nothing, so its window closes and the client stops there.
package struct HTTP2InboundWindow: Equatable {
    package let target: Int
    /// What the peer may still send, as the library last said (nil: not yet told).
    package private(set) var window: Int?
    /// Bytes received and held for a reader that has not taken them.
    package private(set) var held = 0

    package init(target: Int) {
        self.target = target
    }

    /// The library's new window size; returns the increment to send, if any.
    package mutating func windowChanged(to size: Int) -> Int? {
        window = size
        return increment()
    }

    /// Our SETTINGS_INITIAL_WINDOW_SIZE took effect: every stream's window moved by `delta`.
    package mutating func initialWindowChanged(by delta: Int) -> Int? {
        guard let window else { return nil }
        return windowChanged(to: window + delta)
    }

    package mutating func hold(_ count: Int) {
        held += count
    }

    /// The reader took `count` held bytes.
    package mutating func release(_ count: Int) -> Int? {
        held -= count
        return increment()
    }

    private func increment() -> Int? {
        guard let window else { return nil }
        let available = window + held
        guard available < target else { return nil }
        guard available >= 0 else { return min(target - available, Int(Int32.max)) }
        let increment = target - available
        return increment >= available ? increment : nil
    }
}
