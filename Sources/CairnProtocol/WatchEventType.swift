/// The kinds of watch event the server pushes: `{"event":"watch","type":...,"path":...,"zxid":N}`.
public enum WatchEventType: String, Sendable, Hashable {
    case created
    case deleted
    case dataChanged = "data_changed"
    case childrenChanged = "children_changed"
}
