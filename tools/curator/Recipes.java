// Curator's side of the recipe interop tests (CairnClientTests.CuratorInteropTests): through the ZooKeeper port, takes
// part in one recipe on PATH beside Swift participants, printing what happens, one line each.
//
//   java -cp <Curator's and ZooKeeper's jars> tools/curator/Recipes.java HOST:PORT RECIPE PATH HOLD-MS
//
//   mutex       InterProcessMutex: "acquired", held HOLD-MS, then "released"
//   write       InterProcessReadWriteLock's write lock, as mutex
//   read        its read lock, as mutex
//   semaphore   InterProcessSemaphoreV2 with 1 lease, as mutex
//   latch       LeaderLatch with id "java": "leader" once it leads, holds HOLD-MS, then "closed"
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessLock;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class Recipes {
    public static void main(String[] args) throws Exception {
        String connect = args[0], recipe = args[1], path = args[2];
        long hold = Long.parseLong(args[3]);
        CuratorFramework client = CuratorFrameworkFactory.newClient(connect, new ExponentialBackoffRetry(100, 5));
        client.start();
        if (!client.blockUntilConnected(20, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
        System.out.println("connected");
        switch (recipe) {
            case "mutex" -> holdLock(new InterProcessMutex(client, path), hold);
            case "write" -> holdLock(new InterProcessReadWriteLock(client, path).writeLock(), hold);
            case "read" -> holdLock(new InterProcessReadWriteLock(client, path).readLock(), hold);
            case "semaphore" -> {
                InterProcessSemaphoreV2 semaphore = new InterProcessSemaphoreV2(client, path, 1);
                Lease lease = semaphore.acquire();
                System.out.println("acquired");
                Thread.sleep(hold);
                semaphore.returnLease(lease);
                System.out.println("released");
            }
            case "latch" -> {
                LeaderLatch latch = new LeaderLatch(client, path, "java");
                latch.start();
                latch.await();
                System.out.println("leader");
                Thread.sleep(hold);
                latch.close();
                System.out.println("closed");
            }
            default -> throw new IllegalArgumentException(recipe);
        }
        System.out.flush();
        client.close();
    }

    static void holdLock(InterProcessLock lock, long hold) throws Exception {
        lock.acquire();
        System.out.println("acquired");
        Thread.sleep(hold);
        lock.release();
        System.out.println("released");
    }
}
