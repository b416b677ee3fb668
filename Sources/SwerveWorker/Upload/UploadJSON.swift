/// The little JSON uploads write (sidecars, the 201 answer): strings escaped
/// per RFC 8259, keys in a fixed order so files diff cleanly.
package enum JSON {
    package indirect enum Value {
        case string(String)
        case int(Int)
        case null
        case object([(String, Value)])
        case array([Value])
    }

    package static func encode(_ value: Value) -> String {
        var out = ""
        write(value, to: &out)
        return out
    }

    private static func write(_ value: Value, to out: inout String) {
        switch value {
        case .string(let text): quote(text, to: &out)
        case .int(let number): out += String(number)
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                write(item, to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, item)) in members.enumerated() {
                if index > 0 { out += "," }
                quote(key, to: &out)
                out += ":"
                write(item, to: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ text: String, to out: inout String) {
        var bytes: [UInt8] = []
        JSONString.append(text, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }
}
