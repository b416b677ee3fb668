import CSwerveShims
import Glibc
import NIOCore
import NIOPosix

/// One file part being stored: its temporary file, the content waiting to be
/// written, the chain of pool writes (in order, one at a time) and the
/// SHA-256 computed as the bytes go to disk. Event-loop confined.
///
/// Content arrives as slices of what the socket read. They are gathered
/// into batches of about `batchBytes` and written with one `pwritev` each,
/// so the number of writes (and of pool hops) follows the bytes, not the
/// number of slices: nothing is copied, and a body full of CRs costs what
/// one of zeros does.
final class UploadFile {
    /// A batch is written once it holds this much (or this many slices).
    static let batchBytes = 512 << 10
    static let batchSlices = 256
    /// Within a batch, what is hashed and then written at once (fits in L2).
    static let cacheFriendlyWrite = 192 << 10

    let originalName: String?
    let safeName: String
    let contentType: String
    private let dir: String
    private let pool: NIOThreadPool
    private let eventLoop: EventLoop

    private(set) var temporary: String?
    private var fd: Int32?
    private(set) var size = 0
    /// Counts what is appended and not yet written (shared by the upload's files).
    private let gate: BackpressureGate
    private var batch: [ByteBuffer] = []
    private var batchSize = 0
    private var written = 0
    private var hasher = SHA256()
    private(set) var digest = ""
    /// Every write waits for the one before: the file is written in order.
    private var tail: EventLoopFuture<Void>
    private(set) var storedName: String?

    /// Told once, on the event loop, when a write fails (the upload cannot succeed).
    private var failed: ((Error) -> Void)?

    init(originalName: String?, contentType: String, dir: String, pool: NIOThreadPool, eventLoop: EventLoop,
         gate: BackpressureGate, failed: @escaping (Error) -> Void) {
        self.failed = failed
        self.originalName = originalName
        self.safeName = SafeFileName.make(from: originalName)
        self.contentType = contentType
        self.dir = dir
        self.pool = pool
        self.eventLoop = eventLoop
        self.gate = gate
        let opened = pool.runIfActive(eventLoop: eventLoop) { [dir] () throws -> TemporaryFile in
            let (name, fd) = try UploadStore.createTemporary(in: dir)
            return TemporaryFile(name: name, fd: fd)
        }
        tail = eventLoop.makeSucceededVoidFuture()
        tail = opened.assumeIsolated().map { [self] file in
            self.temporary = file.name
            self.fd = file.fd
        }.nonisolated()
    }

    /// The hash travels to the pool thread and back; the write chain makes
    /// sure only one thread holds it at a time.
    private struct HashState: @unchecked Sendable {
        var hasher: SHA256
    }

    private struct TemporaryFile: Sendable {
        var name: String
        var fd: Int32
    }

    /// Queues content; it is written once a batch is full, or at `complete`.
    func append(_ buffer: ByteBuffer) {
        let count = buffer.readableBytes
        guard count > 0 else { return }
        size += count
        gate.queued(count)
        batch.append(buffer)
        batchSize += count
        if batchSize >= Self.batchBytes || batch.count >= Self.batchSlices { writeBatch() }
    }

    /// Hands the batch to the pool: one pwritev, and the SHA-256 updated in
    /// the same thread, off the event loop; the chain keeps both in order.
    private func writeBatch() {
        guard !batch.isEmpty else { return }
        let buffers = batch, bytes = batchSize, offset = written
        batch = []
        batchSize = 0
        written += bytes
        tail = tail.assumeIsolated().flatMap { [self] () -> EventLoopFuture<Void> in
            let (fd, state) = (self.fd ?? -1, HashState(hasher: self.hasher))
            return self.pool.runIfActive(eventLoop: self.eventLoop) { () throws -> HashState in
                var state = state
                // Hashed and written a few slices at a time, so the write copies
                // bytes the hash has just brought into the cache.
                var position = offset
                var group: [ByteBuffer] = []
                var groupBytes = 0
                for (index, buffer) in buffers.enumerated() {
                    buffer.withUnsafeReadableBytes { state.hasher.update(bufferPointer: $0) }
                    group.append(buffer)
                    groupBytes += buffer.readableBytes
                    if groupBytes >= Self.cacheFriendlyWrite || index == buffers.count - 1 {
                        try UploadStore.write(fd, group, at: position)
                        // The disk starts on these bytes now, while the rest arrives:
                        // the fsync before the answer then has little left to wait for.
                        _ = swerve_start_writeback(fd, Int64(position), Int64(groupBytes))
                        position += groupBytes
                        group.removeAll(keepingCapacity: true)
                        groupBytes = 0
                    }
                }
                return state
            }.assumeIsolated().map { [self] state in
                self.hasher = state.hasher
            }.nonisolated()
        }.always { [self] result in
            // Written or not, these bytes no longer wait: a failed write must not
            // leave the socket paused with nobody left to resume it.
            self.gate.consumed(bytes, slices: buffers.count)
            if case .failure(let error) = result { self.reportFailure(error) }
        }.nonisolated()
    }

    private func reportFailure(_ error: Error) {
        guard let failed else { return }
        self.failed = nil
        failed(error)
    }

    /// The part is complete: after the last write the digest is final and an fsync follows.
    private(set) var completed: EventLoopFuture<Void>?

    func complete() {
        guard completed == nil else { return }
        writeBatch()
        tail = tail.assumeIsolated().flatMap { [self] () -> EventLoopFuture<Void> in
            // Every write (and hash update) is done: the digest is final.
            self.digest = self.hasher.finalize().map { String($0, radix: 16).leftPadded(to: 2) }.joined()
            let fd = self.fd ?? -1
            return self.pool.runIfActive(eventLoop: self.eventLoop) { try UploadStore.sync(fd) }
        }.nonisolated()
        completed = tail
    }

    /// What publishing needs: the complete file's temporary name, closed.
    /// Call once the file is `completed`.
    func staged(sidecar: (@Sendable (String) -> String)?) -> UploadStore.Staged {
        if let fd { Glibc.close(fd) }
        fd = nil
        return UploadStore.Staged(temporary: temporary ?? "", name: safeName, sidecar: sidecar)
    }

    /// The file was published as `name` (and its temporary name removed).
    func published(as name: String) {
        storedName = name
        temporary = nil
    }

    /// Removes the temporary file once pending writes settle (abort, refusal, after publishing).
    func discard() {
        batch = []
        tail.assumeIsolated().whenComplete { [self] _ in
            guard let temporary = self.temporary else { return }
            let (fd, dir) = (self.fd, self.dir)
            self.fd = nil
            self.temporary = nil
            _ = self.pool.runIfActive(eventLoop: self.eventLoop) { UploadStore.discard(temporary, fd: fd, in: dir) }
        }
    }
}
