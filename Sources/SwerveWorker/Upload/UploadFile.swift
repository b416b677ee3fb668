import Crypto
import NIOCore
import Glibc
import NIOPosix

/// One file part being stored: its temporary file, the chain of pool writes
/// (kept in order, one at a time), the bytes still queued (for backpressure)
/// and the SHA-256 computed as the bytes stream past. Event-loop confined.
final class UploadFile {
    let originalName: String?
    let safeName: String
    let contentType: String
    private let dir: String
    private let pool: NIOThreadPool
    private let eventLoop: EventLoop

    private(set) var temporary: String?
    private var fd: Int32?
    private(set) var size = 0
    private(set) var queuedBytes = 0
    private var hasher = SHA256()
    private(set) var digest = ""
    /// Every write waits for the one before: the file is written in order.
    private var tail: EventLoopFuture<Void>
    private(set) var storedName: String?

    init(originalName: String?, contentType: String, dir: String, pool: NIOThreadPool, eventLoop: EventLoop) {
        self.originalName = originalName
        self.safeName = SafeFileName.make(from: originalName)
        self.contentType = contentType
        self.dir = dir
        self.pool = pool
        self.eventLoop = eventLoop
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

    /// Queues bytes for writing; `written` runs on the event loop after each write.
    /// The SHA-256 is updated in the pool thread with the write, off the event
    /// loop; the chain keeps both in order.
    func append(_ buffer: ByteBuffer, written: @escaping () -> Void) {
        let offset = size
        size += buffer.readableBytes
        queuedBytes += buffer.readableBytes
        tail = tail.assumeIsolated().flatMap { [self] () -> EventLoopFuture<Void> in
            let (fd, state) = (self.fd ?? -1, HashState(hasher: self.hasher))
            return self.pool.runIfActive(eventLoop: self.eventLoop) { () throws -> HashState in
                var state = state
                try buffer.withUnsafeReadableBytes { bytes throws in
                    state.hasher.update(bufferPointer: bytes)
                    try UploadStore.write(fd, bytes, at: offset)
                }
                return state
            }.assumeIsolated().map { [self] state in
                self.hasher = state.hasher
            }.nonisolated()
        }.map { [self] in
            self.queuedBytes -= buffer.readableBytes
            written()
        }.nonisolated()
    }

    /// The part is complete: after the last write the digest is final and an fsync follows.
    private(set) var completed: EventLoopFuture<Void>?

    func complete() {
        guard completed == nil else { return }
        tail = tail.assumeIsolated().flatMap { [self] () -> EventLoopFuture<Void> in
            // Every write (and hash update) is done: the digest is final.
            self.digest = self.hasher.finalize().map { String($0, radix: 16).leftPadded(to: 2) }.joined()
            let fd = self.fd ?? -1
            return self.pool.runIfActive(eventLoop: self.eventLoop) { try UploadStore.sync(fd) }
        }.nonisolated()
        completed = tail
    }

    /// Links the temporary file to its final name (pool); sets `storedName`.
    func publish(sidecar: (@Sendable (String) -> String)?) -> EventLoopFuture<String> {
        let (temporary, fd, dir, safeName) = (self.temporary ?? "", self.fd, self.dir, self.safeName)
        self.fd = nil
        return pool.runIfActive(eventLoop: eventLoop) { () throws -> String in
            if let fd { Glibc.close(fd) }
            return try UploadStore.publish(temporary, as: safeName, in: dir, sidecar: sidecar)
        }.assumeIsolated().map { [self] name in
            self.storedName = name
            self.temporary = nil
            return name
        }.nonisolated()
    }

    /// Removes the temporary file once pending writes settle (abort, refusal).
    func discard() {
        tail.assumeIsolated().whenComplete { [self] _ in
            guard let temporary = self.temporary else { return }
            let (fd, dir) = (self.fd, self.dir)
            self.fd = nil
            self.temporary = nil
            _ = self.pool.runIfActive(eventLoop: self.eventLoop) { UploadStore.discard(temporary, fd: fd, in: dir) }
        }
    }
}
