import Glibc

/// The process groups of the scripts one worker is running, kept in memory
/// shared with the master (mapped before the fork). A worker that is
/// SIGKILLed — a crash, a missed heartbeat, the drain deadline — cannot end
/// its scripts itself; the master reads this table after reaping it and
/// kills every group still listed, so no script outlives its worker.
///
/// The worker writes (from its event loop only); the master reads once the
/// worker is dead, so no other synchronisation is needed. Plain memory, no
/// thread, no syscall per script: cheap enough for every run.
public final class ScriptRegistry: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Int32>
    private let byteCount: Int
    public let capacity: Int
    /// Worker side: where each listed group sits, and the free slots.
    private var slotOf: [pid_t: Int] = [:]
    private var freeSlots: [Int]

    /// Maps a zeroed table with room for `capacity` groups; nil when mmap fails.
    public init?(capacity: Int) {
        let page = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        let bytes = (max(1, capacity) * MemoryLayout<Int32>.stride + page - 1) / page * page
        let memory = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let memory, memory != MAP_FAILED else { return nil }
        byteCount = bytes
        self.capacity = bytes / MemoryLayout<Int32>.stride
        slots = memory.bindMemory(to: Int32.self, capacity: self.capacity)
        freeSlots = Array((0..<self.capacity).reversed())
    }

    /// Worker: a script's group was started. False when the table is full
    /// (the script runs anyway; only a crash would leave it behind).
    @discardableResult
    func record(_ group: pid_t) -> Bool {
        guard slotOf[group] == nil, let slot = freeSlots.popLast() else { return false }
        slots[slot] = group
        slotOf[group] = slot
        return true
    }

    /// Worker: the group is empty or was killed.
    func forget(_ group: pid_t) {
        guard let slot = slotOf.removeValue(forKey: group) else { return }
        slots[slot] = 0
        freeSlots.append(slot)
    }

    /// Master, after the worker died: the groups it left running.
    public var listedGroups: [pid_t] {
        (0..<capacity).compactMap { slots[$0] > 0 ? slots[$0] : nil }
    }

    /// Master: SIGKILLs every listed group; returns how many still had members.
    public func killListedGroups() -> Int {
        var ended = 0
        for group in listedGroups where kill(-group, SIGKILL) == 0 { ended += 1 }
        return ended
    }

    deinit {
        munmap(slots, byteCount)
    }
}
