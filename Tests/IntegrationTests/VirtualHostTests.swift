import Foundation
import Testing

/// Host → vhost on a shared listener: exact names, wildcards, the default.
@Suite struct VirtualHostTests {
    @Test func hostSelectsTheVirtualHost() throws {
        let server = try TestServer(config: """
            server: { workers: 1 }
            logging: { access_log: off, error_log: "{DIR}/error.log" }
            vhosts:
              - names: [first.test]
                listen: ["127.0.0.1:{PORT}"]
                root: {ROOT}/first
              - names: [second.test, "*.wild.test"]
                default: true
                listen: ["127.0.0.1:{PORT}"]
                root: {ROOT}/second
            """, files: ["first/who.txt": Data("first".utf8), "second/who.txt": Data("second".utf8)])
        try server.start()
        func who(_ host: String) throws -> String {
            let connection = try server.connect()
            try connection.send("GET /who.txt HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            return try connection.readResponse().text
        }
        #expect(try who("first.test") == "first")
        #expect(try who("FIRST.test:\(server.port)") == "first")
        #expect(try who("second.test") == "second")
        #expect(try who("a.b.wild.test") == "second")
        // Unknown names go to the listener's default: the vhost marked default, not the first.
        #expect(try who("unknown.test") == "second")
        #expect(try who("wild.test") == "second")
    }
}
