import Glibc
import Logging
import NIOCore
import NIOHTTP1
import SwerveConfig

/// Bodies for error responses: the vhost's `error_pages`, read once when the
/// worker starts (small files, so no request ever waits on disk for them),
/// else a short built-in page as nginx sends.
public struct ErrorPages: Sendable {
    public struct Page: Sendable {
        public var body: ByteBuffer
        public var contentType: String
    }

    /// Error pages larger than this are not loaded (the built-in page is used).
    static let maxPageSize = 1 << 20

    private var pages: [Int: Page] = [:]

    public init() {}

    /// Loads each configured page from `root`; unreadable ones, and ones that
    /// lead out of the root through a symlink (checked again here: `check`
    /// ran before, the file may have changed since), fall back to the built-in page.
    public init(vhost: VirtualHost, mimeTypes: MIMETypes, logger: Logger? = nil) {
        for (code, path) in vhost.errorPages {
            let file = FileSystem.resolve("." + path, relativeTo: vhost.root)
            guard FileSystem.resolves(file, inside: vhost.root) else {
                logger?.error("error page for \(code) '\(path)' leads outside the root: the built-in page is used")
                continue
            }
            guard case .success(let bytes) = FileSystem.readFile(file, limit: Self.maxPageSize) else { continue }
            pages[code] = Page(body: ByteBuffer(bytes: bytes), contentType: mimeTypes.type(forPath: file))
        }
    }

    public func page(for status: HTTPResponseStatus) -> Page {
        if let page = pages[Int(status.code)] { return page }
        return Page(body: Self.builtIn(status), contentType: "text/html; charset=utf-8")
    }

    static func builtIn(_ status: HTTPResponseStatus) -> ByteBuffer {
        let title = "\(status.code) \(status.reasonPhrase)"
        return ByteBuffer(string: "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n<hr><center>swerve</center>\r\n</body>\r\n</html>\r\n")
    }
}
