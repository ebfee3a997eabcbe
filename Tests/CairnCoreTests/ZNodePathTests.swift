import CairnCore
import Testing

@Suite("ZNodePath: ZooKeeper's path rules")
struct ZNodePathTests {
    @Test(
        "valid paths are accepted",
        arguments: [
            "/", "/a", "/a/b", "/services/web-0000000001", "/ünïcode/名前", "/a b", "/.hidden", "/a..b", "/...",
            "/a/.b/..c",
        ])
    func valid(raw: String) throws {
        #expect(try ZNodePath(raw).string == raw)
    }

    @Test(
        "invalid paths are refused",
        arguments: [
            "", "relative", "/trailing/", "//", "/a//b", "/.", "/a/..", "/../a", "/a/./b", "/nul\u{0}", "/tab\t",
            "/del\u{7F}",
            "/private\u{E000}", "/c1\u{85}", "/ü/x\u{1}",
        ])
    func invalid(raw: String) {
        #expect(throws: CairnError.self) { try ZNodePath(raw) }
        do {
            _ = try ZNodePath(raw)
        } catch {
            #expect(error.code == "invalid_path")
        }
    }

    @Test("parent, name, segments and appending")
    func structure() throws {
        let p = try ZNodePath("/services/web/i1")
        #expect(p.parent == (try ZNodePath("/services/web")))
        #expect(p.name == "i1")
        #expect(p.segments == ["services", "web", "i1"])
        #expect(try ZNodePath("/ünï/名前").segments == ["ünï", "名前"])
        #expect(try ZNodePath("/ünï/名前").name == "名前")
        #expect(ZNodePath.root.segments.isEmpty)
        #expect(try ZNodePath("/a").parent == .root)
        #expect(ZNodePath.root.parent == nil)
        #expect(ZNodePath.root.appending("x").string == "/x")
        #expect(try ZNodePath("/a/b").isDescendant(ofOrEqualTo: ZNodePath("/a")))
        #expect(try !ZNodePath("/ab").isDescendant(ofOrEqualTo: ZNodePath("/a")))
        #expect(try ZNodePath("/a").isDescendant(ofOrEqualTo: .root))
    }

    @Test("a path however made — validated, a parent, appended to — knows its name and parent alike")
    func madeEveryWay() throws {
        let raw = ["/a", "/a/b", "/services/web/i1", "/ünï/名前/ß", "/x/ünï", "/a b/c d"]
        for string in raw {
            let validated = try ZNodePath(string)
            let rebuilt = (validated.parent ?? .root).appending(validated.name)
            #expect(rebuilt == validated && rebuilt.hashValue == validated.hashValue)
            for path in [validated, rebuilt] {
                let slash = string.lastIndex(of: "/")!
                #expect(path.name == string[string.index(after: slash)...])
                #expect(path.parent?.string == (slash == string.startIndex ? "/" : String(string[..<slash])))
                #expect(
                    path.parent?.name
                        == (path.parent.map { p in p.string.split(separator: "/").last.map(String.init) ?? "" }).map {
                            Substring($0)
                        })
            }
        }
        #expect(ZNodePath.root.name == "" && ZNodePath.root.appending("ü").name == "ü")
    }

    @Test(
        "isParent(of:) is true exactly one segment down",
        arguments: [
            ("/", "/a", true), ("/", "/a/b", false), ("/", "/", false), ("/a", "/a/b", true), ("/a", "/ab", false),
            ("/a", "/a/b/c", false), ("/a/b", "/a/b", false), ("/ünï", "/ünï/名前", true), ("/ünï", "/ünïx/y", false),
            ("/a/b", "/a/c", false), ("/a/b", "/b/b/x", false),
        ])
    func isParent(parent: String, child: String, expected: Bool) throws {
        #expect(try ZNodePath(parent).isParent(of: ZNodePath(child)) == expected)
    }

    @Test(
        "isDescendant(ofOrEqualTo:) is true for the path itself and anything below it",
        arguments: [
            ("/", "/", true), ("/", "/a/b", true), ("/a", "/a", true), ("/a", "/a/b/c", true), ("/a", "/ab", false),
            ("/a/b", "/a", false), ("/ünï", "/ünï/名前", true), ("/ünï", "/ünïx", false), ("/a/b", "/a/c/d", false),
        ])
    func isDescendant(ancestor: String, path: String, expected: Bool) throws {
        #expect(try ZNodePath(path).isDescendant(ofOrEqualTo: ZNodePath(ancestor)) == expected)
    }

    @Test("session ids are 16 hex digits both ways")
    func sessionHex() {
        let id = SessionID(rawValue: 0xAB)
        #expect(id.hex == "00000000000000ab")
        #expect(SessionID(hex: "00000000000000ab") == id)
        #expect(SessionID(hex: "ab") == nil)
        #expect(SessionID(hex: "zzzzzzzzzzzzzzzz") == nil)
    }
}
