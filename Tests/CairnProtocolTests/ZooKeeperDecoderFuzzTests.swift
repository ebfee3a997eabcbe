import CairnCore
import CairnProtocol
import CairnTesting
import NIOCore
import Testing

@Suite("ZooKeeper's codec on random and mutated records: an answer or Malformed, never a crash or a hang")
struct ZooKeeperDecoderFuzzTests {
    /// Valid records of the ops with the most structure, as (opcode, record) pairs.
    static func validRecords() -> [(Int32, [UInt8])] {
        func record(_ body: (inout JuteWriter) -> Void) -> [UInt8] {
            var w = JuteWriter(ByteBuffer())
            body(&w)
            return Array(w.bytes.readableBytesView)
        }
        func acl(_ w: inout JuteWriter) {
            w.vector([Int32(31)]) { w, perms in
                w.int(perms)
                w.string("world")
                w.string("anyone")
            }
        }
        let create = record { w in
            w.string("/a/b")
            w.buffer(Array("data".utf8))
            acl(&w)
            w.int(2)
        }
        let multi = record { w in
            w.int(1)
            w.bool(false)
            w.int(-1)
            w.string("/m")
            w.buffer([])
            acl(&w)
            w.int(0)
            w.int(13)
            w.bool(false)
            w.int(-1)
            w.string("/m")
            w.int(0)
            w.int(-1)
            w.bool(true)
            w.int(-1)
        }
        let setWatches = record { w in
            w.long(7)
            for paths in [["/a"], [], ["/b", "/c"], ["/d"], []] { w.vector(paths) { w, path in w.string(path) } }
        }
        let setACL = record { w in
            w.string("/a")
            acl(&w)
            w.int(-1)
        }
        let auth = record { w in
            w.int(0)
            w.string("digest")
            w.buffer(Array("user:password".utf8))
        }
        let watch = record { w in
            w.string("/a")
            w.int(3)
        }
        return [(1, create), (15, create), (14, multi), (105, setWatches), (7, setACL), (100, auth), (18, watch)]
    }

    @Test("20,000 mutated and random records of every opcode decode to a request, a refusal or an error")
    func mutatedRecords() {
        var random = SplitMix64(seed: 0x5EED_2181)
        let decoder = ZooKeeperRequestDecoder(maxOpsPerMulti: 1000)
        let valid = Self.validRecords()
        var outcomes = (requests: 0, errors: 0, malformed: 0)
        for round in 0..<20_000 {
            var type: Int32
            var bytes: [UInt8]
            if round % 4 == 0 {
                type = Int32.random(in: -12...130, using: &random)
                bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            } else {
                (type, bytes) = valid[Int.random(in: 0..<valid.count, using: &random)]
                for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                if round % 4 == 1 { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random))) }
            }
            var reader = JuteReader(ByteBuffer(bytes: bytes), maxLength: 1 << 20)
            do {
                switch try decoder.decode(type, &reader) {
                case .success: outcomes.requests += 1
                case .failure(.malformed): outcomes.malformed += 1
                case .failure: outcomes.errors += 1
                }
            } catch {
                outcomes.malformed += 1  // a request header's own fields cut short
            }
            var connect = JuteReader(ByteBuffer(bytes: bytes), maxLength: 1 << 20)
            _ = try? ZooKeeperRecords.ConnectRequest(from: &connect)
        }
        // Each kind of outcome is reached, so the mutations exercise the decoder, not only its first check.
        #expect(outcomes.requests > 100 && outcomes.errors > 100 && outcomes.malformed > 100, "\(outcomes)")
    }

    @Test("a length past the limit is Malformed before anything is allocated for it")
    func hugeLengths() throws {
        for length in [Int32.max, 1 << 21, -2] {
            var w = JuteWriter(ByteBuffer())
            w.int(length)
            var reader = JuteReader(w.bytes, maxLength: 1 << 20)
            #expect(throws: JuteReader.Malformed.self) { _ = try reader.buffer() }
        }
    }
}
