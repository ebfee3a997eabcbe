/// A znode's metadata, as in ZooKeeper. Times are milliseconds since the Unix epoch.
public struct Stat: Hashable, Sendable {
    /// zxid of the change that created the node.
    public var czxid: Zxid
    /// zxid of the change that last set its data.
    public var mzxid: Zxid
    /// zxid of the change that last added or removed a child.
    public var pzxid: Zxid
    public var ctime: Int64
    public var mtime: Int64
    /// Number of data changes.
    public var version: Int32
    /// Number of child creates and deletes, as in ZooKeeper; the next sequential suffix counts the creates only
    /// (`NodeCounters.sequence`).
    public var cversion: Int32
    /// Number of ACL changes.
    public var aversion: Int32
    /// The owning session of an ephemeral node.
    public var ephemeralOwner: SessionID?
    public var dataLength: Int32
    public var numChildren: Int32

    public init(
        czxid: Zxid, mzxid: Zxid, pzxid: Zxid, ctime: Int64, mtime: Int64, version: Int32, cversion: Int32,
        aversion: Int32, ephemeralOwner: SessionID?, dataLength: Int32, numChildren: Int32
    ) {
        self.czxid = czxid
        self.mzxid = mzxid
        self.pzxid = pzxid
        self.ctime = ctime
        self.mtime = mtime
        self.version = version
        self.cversion = cversion
        self.aversion = aversion
        self.ephemeralOwner = ephemeralOwner
        self.dataLength = dataLength
        self.numChildren = numChildren
    }

    /// The stat of a node created by change `zxid` at `time`.
    public static func created(zxid: Zxid, time: Int64, owner: SessionID?, dataLength: Int) -> Stat {
        Stat(
            czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time, version: 0, cversion: 0, aversion: 0,
            ephemeralOwner: owner, dataLength: Int32(dataLength), numChildren: 0)
    }
}
