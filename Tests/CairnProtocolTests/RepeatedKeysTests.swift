import Testing

@testable import CairnProtocol

@Suite("RepeatedKeys finds a key given twice in one object")
struct RepeatedKeysTests {
    static func first(_ line: String) -> String? { Array(line.utf8).withUnsafeBytes(RepeatedKeys.first) }

    @Test(
        "a repeated key is found at any depth, however it is escaped",
        arguments: [
            (#"{"op":"get","op":"create"}"#, "op"),
            (#"{"id":1,"ops":[{"op":"set"},{"path":"/a","x":[1,{"k":2}],"path":"/b"}]}"#, "path"),
            (#"{"op":"get","\u006fp":"create"}"#, "op"),
            (#"{"\ud83d\ude80":1, "🚀":2}"#, "🚀"),
            (#" { "a" : { "b" : 1 , "b" : 2 } } "#, "b"),
        ])
    func repeated(line: String, key: String) {
        #expect(Self.first(line) == key)
    }

    @Test(
        "no repeat, or not JSON: nil",
        arguments: [
            #"{"op":"get","path":"/a","ops":[{"op":"get"},{"op":"get"}]}"#, #"{"a":{"a":{"a":1}}}"#, #"{"a":1,"A":2}"#,
            #"{}"#, #"[]"#, #"not json"#, #"{"a":1,"a""#, #"{"a\ud800":1,"a\ud800":2}"#,
            #"{"a":1.5e3,"b":[true,null]}"#,
        ])
    func none(line: String) {
        #expect(Self.first(line) == nil)
    }

    @Test("nesting deeper than the walk goes is left to the decoder, without exhausting the stack")
    func deep() {
        #expect(Self.first(String(repeating: "[", count: 100_000)) == nil)
        #expect(
            Self.first(
                String(repeating: "{\"a\":", count: 400) + #"{"b":1,"b":2}"# + String(repeating: "}", count: 400))
                == "b")
    }
}
