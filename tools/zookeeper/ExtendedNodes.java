// Makes container and TTL nodes in a ZooKeeper the way its Java client does, for migration-checks.py: one of each
// with a plain create, and one of each inside a multi (kazoo makes neither). Usage: java ExtendedNodes.java HOST:PORT
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public class ExtendedNodes {
    public static void main(String[] args) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(args[0], 10000, event -> {
            if (event.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
        });
        connected.await();
        var open = ZooDefs.Ids.OPEN_ACL_UNSAFE;
        zk.create("/later", new byte[0], open, CreateMode.CONTAINER);
        zk.create("/later/a", "a".getBytes(), open, CreateMode.PERSISTENT);
        zk.create("/later-ttl", "t".getBytes(), open, CreateMode.PERSISTENT_WITH_TTL, null, 900000);
        zk.multi(List.of(
            Op.create("/batch", new byte[0], open, CreateMode.CONTAINER),
            Op.create("/batch/ttl", "b".getBytes(), open, CreateMode.PERSISTENT_WITH_TTL, 300000)));
        zk.close();
        System.out.println("created");
    }
}
