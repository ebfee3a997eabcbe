import CairnCore
import CairnProtocol
import Foundation
import Testing

@Suite("JSONWriter: hand-written replies parse back as the same JSON")
struct JSONWriterTests {
    @Test(
        "strings with quotes, backslashes, control characters and non-ASCII round-trip",
        arguments: [
            "plain", "quote \" inside", "back\\slash", "new\nline\ttab\r", "\u{01}\u{1F}", "ünïcödé 名前 🚀", "",
            // Escapes after whole 8-byte words of plain text, which are copied without a byte-by-byte look.
            "sixteen plain bytes\"then a quote", "0123456789abcdef\\", "twenty-four bytes of text\u{7}bell",
            "ünïcödé ünïcödé \"quoted\" 名前", "12345678",
        ])
    func strings(value: String) throws {
        var w = JSONWriter()
        w.beginObject()
        w.string("s", value)
        w.beginArray("a")
        w.element(value)
        w.element("second")
        w.endArray()
        w.int("n", -42)
        w.bool("b", true)
        w.null("z")
        w.endObject()
        let line = w.line()
        #expect(line.last == 10)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.dropLast())) as? [String: Any])
        #expect(object["s"] as? String == value)
        #expect(object["a"] as? [String] == [value, "second"])
        #expect(object["n"] as? Int == -42 && object["b"] as? Bool == true && object["z"] is NSNull)
    }

    @Test(
        "data of any length is text exactly when it is UTF-8",
        arguments: [
            (Array("a config value of some length, with a \"quote\" and a\ttab".utf8), true),
            (Array("ünïcödé 名前 🚀 ünïcödé".utf8), true),
            (Array("eight by".utf8) + [0xC3], false),  // a lead byte with no continuation, after a whole word
            (Array("sixteen bytes ok".utf8) + [0x80, 0x41], false),
            ([], true),
        ])
    func dataText(bytes: [UInt8], isText: Bool) throws {
        var w = JSONWriter()
        w.beginObject()
        w.data(bytes)
        w.endObject()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(w.line())) as? [String: Any])
        if isText {
            #expect(object["data"] as? String == String(decoding: bytes, as: UTF8.self))
        } else {
            #expect(object["data_b64"] as? String == Data(bytes).base64EncodedString())
        }
    }

    @Test("data is text when it is UTF-8 and base64 otherwise; stats carry every field")
    func dataAndStat() throws {
        var w = JSONWriter()
        w.beginSuccess(id: 3, zxid: 9)
        w.data([0xFF, 0x01])
        w.stat("stat", .created(zxid: 9, time: 1000, owner: SessionID(rawValue: 255), dataLength: 2))
        w.endObject()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(w.line())) as? [String: Any])
        #expect(object["data_b64"] as? String == Data([0xFF, 0x01]).base64EncodedString())
        let stat = try #require(object["stat"] as? [String: Any])
        #expect(
            Set(stat.keys) == [
                "czxid", "mzxid", "pzxid", "ctime", "mtime", "version", "cversion", "aversion", "ephemeral_owner",
                "data_length", "num_children",
            ])
        #expect(stat["ephemeral_owner"] as? String == "00000000000000ff")
    }

    @Test("a stat carries each field's own value, negatives and a missing owner included, between other members")
    func statValues() throws {
        let stat = Stat(
            czxid: 1, mzxid: 2, pzxid: 3, ctime: -4, mtime: 5_000_000_000_000, version: 6, cversion: -7, aversion: 11,
            ephemeralOwner: nil, dataLength: 8, numChildren: 9)
        var w = JSONWriter()
        w.beginSuccess(id: 1, zxid: 3)
        w.stat("stat", stat)
        w.int("after", 10)
        w.endObject()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(w.line())) as? [String: Any])
        let fields = try #require(object["stat"] as? [String: Any])
        let numbers = [
            "czxid": 1, "mzxid": 2, "pzxid": 3, "ctime": -4, "mtime": 5_000_000_000_000, "version": 6,
            "cversion": -7, "aversion": 11, "data_length": 8, "num_children": 9,
        ]
        for (key, value) in numbers { #expect(fields[key] as? Int == value, "\(key)") }
        #expect(fields["ephemeral_owner"] is NSNull)
        #expect(object["after"] as? Int == 10 && object["zxid"] as? Int == 3)
    }

    @Test("the widest stat — every number at its extreme, a full owner — is written whole, exactly")
    func widestStat() {
        let stat = Stat(
            czxid: .max, mzxid: .max, pzxid: .max, ctime: .min, mtime: .min, version: .min, cversion: .min,
            aversion: .min,
            ephemeralOwner: SessionID(rawValue: .max), dataLength: .min, numChildren: .min)
        var w = JSONWriter(reusing: Array(repeating: 0x41, count: 3))
        w.beginObject()
        w.stat("stat", stat)
        w.endObject()
        let max = "18446744073709551615"
        let min64 = "-9223372036854775808"
        let min32 = "-2147483648"
        let expected = """
            {"stat":{"czxid":\(max),"mzxid":\(max),"pzxid":\(max),"ctime":\(min64),"mtime":\(min64),\
            "version":\(min32),"cversion":\(min32),"aversion":\(min32),"ephemeral_owner":"ffffffffffffffff",\
            "data_length":\(min32),"num_children":\(min32)}}

            """
        #expect(String(decoding: w.line(), as: UTF8.self) == expected)
    }

    @Test("numbers of every length, at each power of ten and either side of it, are written as Swift prints them")
    func numberLengths() {
        var values: [UInt64] = [0, .max]
        var power: UInt64 = 1
        for _ in 0..<20 {
            values += [power - 1, power, power + 1, power &* 7 &+ 3]
            power &*= 10
        }
        for value in values {
            var w = JSONWriter()
            w.beginObject()
            w.int("u", value)
            w.int("i", Int64(truncatingIfNeeded: value))
            w.endObject()
            #expect(
                String(decoding: w.line(), as: UTF8.self)
                    == "{\"u\":\(value),\"i\":\(Int64(truncatingIfNeeded: value))}\n")
        }
    }

    @Test("error replies carry the code, a message, and the multi index")
    func errors() throws {
        let line = ErrorReply(.multiFailed(index: 4, cause: .noNode(try ZNodePath("/x")))).line(id: nil)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        let error = try #require(object["error"] as? [String: Any])
        #expect(object["id"] is NSNull && object["ok"] as? Bool == false)
        #expect(error["code"] as? String == "no_node" && error["index"] as? Int == 4)
    }
}
