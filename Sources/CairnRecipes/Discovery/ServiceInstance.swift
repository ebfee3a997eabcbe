import FoundationEssentials

/// One running instance of a service, stored in its node `/services/<name>/<id>` as curator-x-discovery's
/// `ServiceInstance` JSON, so Java services registered with Curator through the ZooKeeper port and Swift services
/// registered here find each other. Cairn's own fields (metadata, tags, weight) travel in the payload, a JSON map a
/// Curator client reads as `Map<String, Object>`.
public struct ServiceInstance: Sendable, Hashable {
    /// How the instance's node lives, as Curator's `ServiceType`: `dynamic` is ephemeral (it goes with the
    /// registering session), `static` and `permanent` are persistent.
    public enum ServiceType: String, Sendable, Hashable, Codable {
        case dynamic = "DYNAMIC"
        case `static` = "STATIC"
        case permanent = "PERMANENT"
        case dynamicSequential = "DYNAMIC_SEQUENTIAL"
    }

    /// The service's name; set by `ServiceRegistry.register`.
    public var name: String
    /// Unique among the service's instances; the node's name. A UUID unless given.
    public var id: String
    public var address: String
    public var port: Int?
    public var sslPort: Int?
    /// Free-form key-value pairs (version, zone, …), matched by `InstanceFilter.metadata`.
    public var metadata: [String: String]
    /// Labels, matched by `InstanceFilter.tag` (Consul's tags).
    public var tags: Set<String>
    /// The instance's share of the `weighted` strategy's choices (Consul's weights); 0 is never chosen while
    /// another instance weighs more.
    public var weight: Int
    /// Milliseconds since the Unix epoch when it was registered.
    public var registrationTimeUTC: Int64
    public var serviceType: ServiceType
    /// A template such as `{scheme}://{address}:{port}/api`, expanded by `uri(_:)`.
    public var uriSpec: String?
    /// false while the instance is marked down (by its health check or by hand): it stays registered, discovery
    /// skips it. Curator's `enabled`.
    public var enabled: Bool

    public init(
        address: String, port: Int?, sslPort: Int? = nil, id: String = UUID().uuidString.lowercased(),
        metadata: [String: String] = [:], tags: Set<String> = [], weight: Int = 1, uriSpec: String? = nil,
        serviceType: ServiceType = .dynamic, enabled: Bool = true
    ) {
        name = ""
        self.id = id
        self.address = address
        self.port = port
        self.sslPort = sslPort
        self.metadata = metadata
        self.tags = tags
        self.weight = weight
        registrationTimeUTC = 0
        self.serviceType = serviceType
        self.uriSpec = uriSpec
        self.enabled = enabled
    }

    /// `uriSpec` with its `{field}`s filled in: `scheme` (https with an SSL port, else http), `name`, `id`,
    /// `address`, `port`, `ssl-port`, `registration-time-utc`, `service-type`, then `variables`; nil without a spec.
    public func uri(_ variables: [String: String] = [:]) -> String? {
        guard let uriSpec else { return nil }
        var fields = [
            "scheme": sslPort == nil ? "http" : "https", "name": name, "id": id, "address": address,
            "port": port.map(String.init) ?? "", "ssl-port": sslPort.map(String.init) ?? "",
            "registration-time-utc": String(registrationTimeUTC), "service-type": serviceType.rawValue.lowercased(),
        ]
        fields.merge(variables) { _, given in given }
        return UriSpec(template: uriSpec).parts.map { $0.variable ? fields[$0.value] ?? "" : $0.value }.joined()
    }

    var encoded: [UInt8] { (try? Array(JSONEncoder().encode(self))) ?? [] }

    static func decode(_ bytes: [UInt8]) -> ServiceInstance? {
        try? JSONDecoder().decode(ServiceInstance.self, from: Data(bytes))
    }
}

extension ServiceInstance: Codable {
    enum CodingKeys: String, CodingKey {
        case name, id, address, port, sslPort, payload, registrationTimeUTC, serviceType, uriSpec, enabled
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(id, forKey: .id)
        try c.encode(address, forKey: .address)
        try c.encode(port, forKey: .port)
        try c.encode(sslPort, forKey: .sslPort)
        try c.encode(Payload(metadata: metadata, tags: tags.sorted(), weight: weight), forKey: .payload)
        try c.encode(registrationTimeUTC, forKey: .registrationTimeUTC)
        try c.encode(serviceType, forKey: .serviceType)
        try c.encode(uriSpec.map(UriSpec.init(template:)), forKey: .uriSpec)
        try c.encode(enabled, forKey: .enabled)
    }

    /// Reads what Curator writes: absent fields take its defaults (an instance before `enabled` existed is enabled).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        address = try c.decodeIfPresent(String.self, forKey: .address) ?? ""
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        sslPort = try c.decodeIfPresent(Int.self, forKey: .sslPort)
        let payload = (try? c.decodeIfPresent(Payload.self, forKey: .payload)) ?? nil
        metadata = payload?.metadata ?? [:]
        tags = Set(payload?.tags ?? [])
        weight = payload?.weight ?? 1
        registrationTimeUTC = try c.decodeIfPresent(Int64.self, forKey: .registrationTimeUTC) ?? 0
        serviceType = (try? c.decodeIfPresent(ServiceType.self, forKey: .serviceType)) ?? .dynamic
        uriSpec = try c.decodeIfPresent(UriSpec.self, forKey: .uriSpec)?.template
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
    }
}

/// The payload as Curator's Jackson writes a `java.util.Map` typed by class: the class named in `@class`.
/// Read back leniently: a Java service's payload without `metadata` lends its string entries as the metadata.
struct Payload: Codable, Hashable {
    var metadata: [String: String]
    var tags: [String]
    var weight: Int

    init(metadata: [String: String], tags: [String], weight: Int) {
        self.metadata = metadata
        self.tags = tags
        self.weight = weight
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let javaClass = Key("@class")
    static let metadataKey = Key("metadata")
    static let tagsKey = Key("tags")
    static let weightKey = Key("weight")

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode("java.util.LinkedHashMap", forKey: Self.javaClass)
        try c.encode(metadata, forKey: Self.metadataKey)
        try c.encode(tags, forKey: Self.tagsKey)
        try c.encode(weight, forKey: Self.weightKey)
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        if let metadata = try? c.decode([String: String].self, forKey: Self.metadataKey) {
            self.metadata = metadata
        } else {
            var found: [String: String] = [:]
            for key in c.allKeys where key.stringValue != Self.javaClass.stringValue {
                if let value = try? c.decode(String.self, forKey: key) { found[key.stringValue] = value }
            }
            metadata = found
        }
        tags = (try? c.decode([String].self, forKey: Self.tagsKey)) ?? []
        weight = (try? c.decode(Int.self, forKey: Self.weightKey)) ?? 1
    }
}

/// Curator's `UriSpec` JSON: the template cut into literal and `{variable}` parts.
struct UriSpec: Codable, Hashable {
    struct Part: Codable, Hashable {
        var value: String
        var variable: Bool
    }

    var parts: [Part]

    init(template: String) {
        parts = []
        var rest = template[...]
        while !rest.isEmpty {
            if rest.first == "{", let close = rest.firstIndex(of: "}") {
                parts.append(Part(value: String(rest[rest.index(after: rest.startIndex)..<close]), variable: true))
                rest = rest[rest.index(after: close)...]
            } else {
                let end = rest.dropFirst().firstIndex(of: "{") ?? rest.endIndex
                parts.append(Part(value: String(rest[..<end]), variable: false))
                rest = rest[end...]
            }
        }
    }

    var template: String { parts.map { $0.variable ? "{\($0.value)}" : $0.value }.joined() }
}
