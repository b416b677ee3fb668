import Glibc

/// An HTML directory listing in nginx's style: folders first, then files,
/// each sorted by name; dotfiles hidden; names escaped for HTML and URLs.
package enum Autoindex {
    package struct Entry: Sendable, Equatable {
        package var name: String
        package var isDirectory: Bool
        package var size: Int
        package var modified: Int

        package init(name: String, isDirectory: Bool, size: Int, modified: Int) {
            self.name = name
            self.isDirectory = isDirectory
            self.size = size
            self.modified = modified
        }
    }

    /// Reads a folder (blocking: thread pool only); nil when it cannot be read.
    /// Symlinks leading out of `realRoot` are left out, like everything else there.
    package static func read(_ folder: String, realRoot: String) -> [Entry]? {
        guard let dir = opendir(folder) else { return nil }
        defer { closedir(dir) }
        var entries: [Entry] = []
        while let item = readdir(dir) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard !name.hasPrefix(".") else { continue }
            var info = stat()
            guard lstat(folder + name, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFLNK {
                guard let target = realpath(folder + name, nil) else { continue }
                let inside = FileLookup.isInside(String(cString: target), root: realRoot)
                free(target)
                guard inside, stat(folder + name, &info) == 0 else { continue }
            }
            let isDirectory = info.st_mode & S_IFMT == S_IFDIR
            entries.append(Entry(name: name, isDirectory: isDirectory, size: Int(info.st_size),
                                 modified: Int(info.st_mtim.tv_sec)))
        }
        return entries
    }

    package static func html(for entries: [Entry], path: String) -> String {
        let sorted = entries.sorted { ($0.isDirectory ? 0 : 1, $0.name) < ($1.isDirectory ? 0 : 1, $1.name) }
        let title = "Index of " + escapeHTML(path)
        var html = "<!doctype html>\n<html>\n<head><meta charset=\"utf-8\"><title>\(title)</title></head>\n<body>\n<h1>\(title)</h1><hr><pre>"
        if path != "/" { html += "<a href=\"../\">../</a>\n" }
        for entry in sorted {
            let name = entry.name + (entry.isDirectory ? "/" : "")
            let size = entry.isDirectory ? "-" : String(entry.size)
            let date = HTTPDate.formatLog(entry.modified).prefix(17)  // "24/Nov/2026:19:13"
            html += "<a href=\"\(escapeHTML(percentEncode(name)))\">\(escapeHTML(name))</a> \(date) \(size)\n"
        }
        html += "</pre><hr></body>\n</html>\n"
        return html
    }

    package static func escapeHTML(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// Percent-encodes everything but unreserved characters and "/".
    package static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }
}

extension String {
    package func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
