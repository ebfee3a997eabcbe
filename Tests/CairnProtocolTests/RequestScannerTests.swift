import CairnCore
import Foundation
import Testing

@testable import CairnProtocol

/// The fast request scanner must agree with `JSONDecoder` wherever it answers at all.
@Suite("RequestScanner agrees with JSONDecoder")
struct RequestScannerTests {
    static func canonical(_ request: WireRequest) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(request), as: UTF8.self)
    }

    /// Scanner and decoder on one line: when the scanner answers, the decoder gives the same request.
    static func check(_ line: String) throws -> Bool {
        let bytes = Array(line.utf8)
        let scanned = bytes.withUnsafeBytes(RequestScanner.parse)
        let decoded = try? JSONDecoder().decode(WireRequest.self, from: Data(bytes))
        if let scanned {
            let decodedRequest = try #require(decoded, "the scanner accepted a line JSONDecoder refuses: \(line)")
            #expect(try canonical(scanned) == canonical(decodedRequest), "\(line)")
        }
        return scanned != nil
    }

    @Test(
        "the protocol's request shapes are scanned, identically",
        arguments: [
            #"{"id":1,"op":"connect","timeout_ms":10000}"#,
            #"{"id":2,"op":"create","path":"/services/web-","ephemeral":true,"sequential":true,"data":"10.0.0.1:8080"}"#,
            #"{ "id" : 3 , "op" : "get" , "path" : "/a" , "watch" : false }"#,
            #"{"id":4,"op":"set","path":"/cfg","data":"quote \" back \\ slash \/ tab \t nl \n","version":-1}"#,
            #"{"id":5,"op":"multi","ops":[{"op":"check","path":"/m","version":0},{"op":"create","path":"/m/a","data_b64":"AAE="}]}"#,
            #"{"id":6,"op":"add_watch","path":"/r","recursive":true,"since_zxid":42,"session_id":null}"#,
            #"{"id":7,"op":"connect","session_id":"00000000000000ab","password":"5IwznxlodHx7Rre/xL3d/g=="}"#,
            #"{"op":"dump","path":"/","id":-9}"#,
            #"{"id":12,"op":"multi","ops":[{"op":"restore_counters","path":"/q","seq":8,"version":2,"aversion":1}]}"#,
            #"{"id":8,"op":"create","path":"/ünï/名前","data":"🚀","ttl_ms":60000}"#,
            #"{"id":9,"op":"create","path":"/a","acl":[{"perms":31,"scheme":"digest","id":"bob:0ezhUayTjEymfNB3K9C0+wkMLMo="},{"id":"anyone","scheme":"world","perms":1}]}"#,
            #"{"id":10,"op":"set_acl","path":"/a","acl":[],"aversion":3}"#,
            #"{"id":11,"op":"auth","scheme":"digest","credentials":"bob:s3cret"}"#,
            #"{"id":13,"op":"multi","ops":[{"op":"create","path":"/z","data":null},{"op":"set","path":"/z","data":""}]}"#,
            #"{}"#,
        ])
    func knownShapes(line: String) throws {
        #expect(try Self.check(line))
    }

    @Test(
        "lines it does not handle are left to JSONDecoder",
        arguments: [
            #"{"id":1.5,"op":"get"}"#, #"{"id":1e3,"op":"get"}"#, #"{"op":"get","path":"\u0041"}"#, #"[1,2]"#,
            #"not json"#,
            #"{"id":1,"op":"get""#, #"{"id":"1"}"#, #"{"op":"get","extra":{"nested":1}}"#, #"{"op":"get"} trailing"#,
            #"{"id":99999999999999999999}"#, #"{"path":"a\u0000"}"#, #"{"ops":[{"ops":[]}]}"#,
            #"{"id":1,"op":"get","extra":"unknown"}"#, #"{"id":1,"op":"get","op":"create"}"#,
            #"{"ops":[{"op":"a","op":"b"}]}"#,
        ])
    func leftAlone(line: String) throws {
        #expect(try !Self.check(line))
    }

    @Test("\"data\": null is ZooKeeper's null data and no data is empty, whether the scanner or JSONDecoder reads it")
    func nullData() throws {
        let decoder = RequestDecoder(maxOpsPerMulti: 10)
        func data(_ line: String) throws -> [UInt8]?? {
            let decoded = try #require(Array(line.utf8).withUnsafeBytes(decoder.decode))
            guard case .change(.create(_, let data, _, _, _)) = try decoded.request.get() else { return .none }
            return .some(data)
        }
        // `\u002F` is "/", which only JSONDecoder reads.
        for path in ["/z", #"\u002Fz"#] {
            #expect(try data(#"{"id":1,"op":"create","path":"\#(path)","data":null}"#) == .some(nil), "\(path)")
            #expect(try data(#"{"id":1,"op":"create","path":"\#(path)"}"#) == .some([]), "\(path)")
            #expect(try data(#"{"id":1,"op":"create","path":"\#(path)","data":"x"}"#) == .some([0x78]), "\(path)")
            let both = try #require(
                Array(#"{"id":1,"op":"create","path":"\#(path)","data":null,"data_b64":"AA=="}"#.utf8)
                    .withUnsafeBytes(decoder.decode))
            #expect(throws: CairnError.self) { try both.request.get() }
        }
    }

    @Test("bytes that are not UTF-8 inside a string are refused, plain or escaped")
    func invalidUTF8() throws {
        for bad: [UInt8] in [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x61, 0x5C, 0x6E, 0xFE]] {
            let line = Array(#"{"id":1,"op":"set","path":"/a","data":""#.utf8) + bad + Array(#""}"#.utf8)
            #expect(line.withUnsafeBytes(RequestScanner.parse) == nil)
        }
    }

    @Test("random requests: whenever the scanner answers, it answers like JSONDecoder")
    func randomRequests() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab/-_ \"\\\n\t\u{1}é名🚀0")
        func randomString() -> String {
            String(
                (0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
        }
        func randomValue() -> Any {
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: randomString()
            case 1: Int.random(in: -1_000_000...1_000_000, using: &generator)
            case 2: Bool.random(using: &generator)
            case 3: NSNull()
            case 4: Double.random(in: -10...10, using: &generator)
            default: [randomString()]
            }
        }
        let keys = [
            "id", "op", "path", "data", "data_b64", "version", "ephemeral", "sequential", "container", "ttl_ms",
            "watch", "recursive", "since_zxid", "timeout_ms", "session_id", "password", "stat", "other", "aversion",
            "scheme", "credentials", "acl",
        ]
        func randomACL() -> Any {
            if Bool.random(using: &generator) { return randomValue() }
            return (0..<Int.random(in: 0...2, using: &generator)).map { _ -> [String: Any] in
                var entry: [String: Any] = [:]
                for key in ["perms", "scheme", "id", "other"].shuffled(using: &generator).prefix(3) {
                    entry[key] = key == "perms" ? Int.random(in: -1...40, using: &generator) : randomValue()
                }
                return entry
            }
        }
        var scanned = 0
        for _ in 0..<3000 {
            var object: [String: Any] = [:]
            for key in keys.shuffled(using: &generator).prefix(Int.random(in: 0...6, using: &generator)) {
                object[key] = key == "acl" ? randomACL() : randomValue()
            }
            if Bool.random(using: &generator) {
                object["ops"] = (0..<Int.random(in: 0...3, using: &generator)).map { _ in
                    ["op": "create", "path": randomString(), "version": randomValue()]
                }
            }
            let line = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            if try Self.check(line) { scanned += 1 }
        }
        #expect(scanned > 100, "the fast path is taken for plenty of them")
    }
}
