/// A transaction id: every change gets the next one. Dense and increasing; 0 is the empty tree.
public typealias Zxid = UInt64
