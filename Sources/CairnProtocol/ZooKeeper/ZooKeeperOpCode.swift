import CairnCore

/// ZooKeeper's opcodes (`ZooDefs.OpCode`), as a request header's `type` carries them.
public enum ZooKeeperOpCode: Int32, Sendable, Hashable {
    case create = 1
    case delete = 2
    case exists = 3
    case getData = 4
    case setData = 5
    case getACL = 6
    case setACL = 7
    case getChildren = 8
    case sync = 9
    case ping = 11
    case getChildren2 = 12
    case check = 13
    case multi = 14
    case create2 = 15
    case reconfig = 16
    case checkWatches = 17
    case removeWatches = 18
    case createContainer = 19
    case deleteContainer = 20
    case createTTL = 21
    case multiRead = 22
    case auth = 100
    case setWatches = 101
    case sasl = 102
    case getEphemerals = 103
    case getAllChildrenNumber = 104
    case setWatches2 = 105
    case addWatch = 106
    case whoAmI = 107
    case closeSession = -11
    /// A multi's result for an op that failed (or was not run).
    case error = -1
}

/// ZooKeeper's error codes (`KeeperException.Code`) that a server sends.
public enum ZooKeeperError: Int32, Sendable, Hashable {
    case ok = 0
    case systemError = -1
    case runtimeInconsistency = -2
    case marshallingError = -5
    case unimplemented = -6
    case badArguments = -8
    case noNode = -101
    case noAuth = -102
    case badVersion = -103
    case noChildrenForEphemerals = -108
    case nodeExists = -110
    case notEmpty = -111
    case sessionExpired = -112
    case invalidACL = -114
    case authFailed = -115
    case noWatcher = -121
    case reconfigDisabled = -123

    /// The code a Cairn error code is sent as.
    public init(_ code: ErrorCode) {
        switch code {
        case .noNode: self = .noNode
        case .nodeExists: self = .nodeExists
        case .badVersion: self = .badVersion
        case .notEmpty: self = .notEmpty
        case .noChildrenForEphemerals: self = .noChildrenForEphemerals
        case .invalidPath, .badArguments, .tooLarge: self = .badArguments
        case .malformed: self = .marshallingError
        case .unknownOp: self = .unimplemented
        case .sessionRequired, .sessionExpired: self = .sessionExpired
        case .noAuth: self = .noAuth
        case .invalidACL: self = .invalidACL
        case .authFailed: self = .authFailed
        case .compacted, .unavailable, .internal: self = .systemError
        }
    }
}
