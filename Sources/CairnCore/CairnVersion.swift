/// Cairn's release: what `--version`, `stats` and the ZooKeeper port's `envi` report.
public enum CairnVersion {
    public static let current = "0.1.0"
}
