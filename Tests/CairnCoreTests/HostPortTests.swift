import CairnCore
import Testing

@Suite("HOST:PORT addresses, IPv6 in brackets")
struct HostPortTests {
    @Test("what people write parses; what is ambiguous or out of range does not")
    func parsing() {
        #expect(HostPort("127.0.0.1:4181") == HostPort(host: "127.0.0.1", port: 4181))
        #expect(HostPort("localhost:0") == HostPort(host: "localhost", port: 0))
        #expect(HostPort("[::1]:4181") == HostPort(host: "::1", port: 4181))
        #expect(HostPort("[fe80::1%eth0]:2181") == HostPort(host: "fe80::1%eth0", port: 2181))
        for bad in [
            "::1:4181", "[::1]4181", "[::1]", "127.0.0.1", ":4181", "[]:4181", "host:65536", "host:-1", "host:",
        ] {
            #expect(HostPort(bad) == nil, "\(bad)")
        }
    }

    @Test("an address prints as it parses")
    func roundTrip() {
        for text in ["127.0.0.1:4181", "[::1]:2181", "db.example:1"] {
            #expect(HostPort(text)?.description == text)
        }
    }
}
