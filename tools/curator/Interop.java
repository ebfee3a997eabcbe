// Curator's side of the discovery interop test (CairnClientTests.CuratorInteropTests): through the ZooKeeper port,
// registers a Java instance with curator-x-discovery, waits until its ServiceProvider lists COUNT instances whose
// address begins with PREFIX (the Swift ones), prints each as Curator reads it, one line each, and stays registered
// until it is killed.
//
//   java -cp <Curator's and ZooKeeper's jars> tools/curator/Interop.java HOST:PORT SERVICE PREFIX COUNT
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceProvider;
import org.apache.curator.x.discovery.UriSpec;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;

public class Interop {
    @SuppressWarnings({"rawtypes", "unchecked"})
    public static void main(String[] args) throws Exception {
        String connect = args[0], service = args[1], prefix = args[2];
        int count = Integer.parseInt(args[3]);
        CuratorFramework client = CuratorFrameworkFactory.newClient(connect, new ExponentialBackoffRetry(100, 5));
        client.start();
        if (!client.blockUntilConnected(20, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
        ServiceDiscovery<Map> discovery = ServiceDiscoveryBuilder.builder(Map.class).client(client)
            .basePath("/services").serializer(new JsonInstanceSerializer<>(Map.class)).build();
        discovery.start();
        Map<String, String> payload = new HashMap<>();
        payload.put("zone", "java");
        ServiceInstance<Map> mine = ServiceInstance.<Map>builder().name(service).address("10.9.9.9").port(9090)
            .payload(payload).uriSpec(new UriSpec("{scheme}://{address}:{port}")).build();
        discovery.registerService(mine);
        System.out.println("registered " + mine.getId());
        ServiceProvider<Map> provider = discovery.serviceProviderBuilder().serviceName(service).build();
        provider.start();
        long deadline = System.currentTimeMillis() + 20_000;
        List<ServiceInstance<Map>> found = List.of();
        while (found.size() < count && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
            found = provider.getAllInstances().stream().filter(i -> i.getAddress().startsWith(prefix)).toList();
        }
        for (ServiceInstance<Map> instance : found) {
            Map seen = instance.getPayload();
            System.out.println("found " + instance.getName() + " " + instance.getId() + " " + instance.getAddress()
                + " " + instance.getPort() + " enabled=" + instance.isEnabled() + " metadata=" + seen.get("metadata")
                + " tags=" + seen.get("tags") + " weight=" + seen.get("weight") + " uri=" + instance.buildUriSpec());
        }
        System.out.println("names " + discovery.queryForNames());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
