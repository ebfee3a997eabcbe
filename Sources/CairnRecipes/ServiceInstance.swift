import FoundationEssentials

/// One running instance of a service, as stored (JSON) in its node under `/services/<name>/`.
public struct ServiceInstance: Codable, Sendable, Hashable {
    /// The instance's node name (e.g. `instance-0000000003`); set by discovery.
    public var id: String
    public var address: String
    public var port: Int
    public var metadata: [String: String]
    /// An instance that marked itself down stays registered but is skipped by discovery.
    public var healthy: Bool

    public init(address: String, port: Int, metadata: [String: String] = [:], healthy: Bool = true) {
        self.id = ""
        self.address = address
        self.port = port
        self.metadata = metadata
        self.healthy = healthy
    }

    enum CodingKeys: String, CodingKey { case address, port, metadata, healthy }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = ""
        address = try c.decode(String.self, forKey: .address)
        port = try c.decode(Int.self, forKey: .port)
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        healthy = try c.decodeIfPresent(Bool.self, forKey: .healthy) ?? true
    }

    var encoded: [UInt8] { Array((try? JSONEncoder().encode(self)) ?? Data()) }

    static func decode(_ bytes: [UInt8], id: String) -> ServiceInstance? {
        guard var instance = try? JSONDecoder().decode(ServiceInstance.self, from: Data(bytes)) else { return nil }
        instance.id = id
        return instance
    }
}
