/*
 * CuratorCheck — Apache Curator 5 (Debian's libcurator-*-java) against a ZooKeeper server:
 * LeaderLatch, InterProcessMutex, CuratorCache (addWatch PERSISTENT_RECURSIVE), TreeCache and
 * PathChildrenCache on the same client, DistributedAtomicLong, and TTL nodes (a TTL create and
 * PersistentTtlNode when the server has extendedTypesEnabled, UNIMPLEMENTED otherwise).
 *
 * Usage: java CuratorCheck host:port ttl|nottl shared|separate
 * "separate" runs CuratorCache on a client of its own: ZooKeeper 3.8.0's server keeps one watch
 * mode per connection and path (ZOOKEEPER-4466, fixed in 3.9), so on the real one a TreeCache's
 * standard watch on the same client silently replaces CuratorCache's persistent recursive watch.
 * Prints "RESULT <name> <value>" lines that tests/integration/test_zk_curator.py asserts on, then
 * "DONE". Every wait is a bounded poll of a condition; a condition that never comes prints
 * "RESULT <name> TIMEOUT". Compiled by that test with javac against /usr/share/java.
 */
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.PathChildrenCache;
import org.apache.curator.framework.recipes.cache.PathChildrenCacheEvent;
import org.apache.curator.framework.recipes.cache.TreeCache;
import org.apache.curator.framework.recipes.cache.TreeCacheEvent;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.nodes.PersistentTtlNode;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;

public class CuratorCheck {
    static final long WAIT_MS = 30000;
    static final List<String> states = new CopyOnWriteArrayList<>();

    static void result(String name, Object value) {
        System.out.println("RESULT " + name + " " + value);
        System.out.flush();
    }

    /* Polls cond every 10 ms for at most WAIT_MS; false if it never held. */
    static boolean waitFor(BooleanSupplier cond) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (System.currentTimeMillis() < deadline) {
            if (cond.getAsBoolean())
                return true;
            Thread.sleep(10);
        }
        return cond.getAsBoolean();
    }

    static CuratorFramework client(String hosts, String name) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder().connectString(hosts)
            .sessionTimeoutMs(20000).connectionTimeoutMs(15000).retryPolicy(new RetryNTimes(3, 200)).build();
        c.getConnectionStateListenable().addListener((cl, st) -> states.add(name + ":" + st));
        c.start();
        if (!c.blockUntilConnected(30, TimeUnit.SECONDS))
            throw new IllegalStateException(name + " did not connect");
        return c;
    }

    static String join(List<String> l) {
        return l.isEmpty() ? "-" : String.join(",", l);
    }

    @SuppressWarnings("deprecation") /* TreeCache and PathChildrenCache: deprecated, still widely used */
    public static void main(String[] args) throws Exception {
        String hosts = args[0];
        boolean ttl = args.length > 1 && args[1].equals("ttl");
        boolean shared = args.length <= 2 || args[2].equals("shared");
        CuratorFramework a = client(hosts, "a");
        CuratorFramework b = client(hosts, "b");
        CuratorFramework ccClient = shared ? a : client(hosts, "c");

        /* ---- LeaderLatch: one leader among two sessions; the next takes over on close ---- */
        LeaderLatch l1 = new LeaderLatch(a, "/latch", "one");
        LeaderLatch l2 = new LeaderLatch(b, "/latch", "two");
        l1.start();
        result("latch.first_await", l1.await(WAIT_MS, TimeUnit.MILLISECONDS));
        l2.start();
        result("latch.participants", waitFor(() -> {
            try {
                return l1.getParticipants().size() == 2;
            } catch (Exception e) {
                return false;
            }
        }) ? 2 : "TIMEOUT");
        result("latch.leader", l1.getLeader().getId());
        result("latch.second_has", l2.hasLeadership());
        l1.close();
        result("latch.takeover", l2.await(WAIT_MS, TimeUnit.MILLISECONDS));
        result("latch.leader_after", l2.getLeader().getId());
        l2.close();

        /* ---- InterProcessMutex: exclusive across sessions; a shared counter loses no update ---- */
        InterProcessMutex m1 = new InterProcessMutex(a, "/lock");
        InterProcessMutex m2 = new InterProcessMutex(b, "/lock");
        m1.acquire();
        result("mutex.other_while_held", m2.acquire(200, TimeUnit.MILLISECONDS));
        m1.release();
        result("mutex.other_after_release", m2.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        m2.release();
        a.create().forPath("/counter-plain", "0".getBytes());
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger overlap = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            CuratorFramework c = t % 2 == 0 ? a : b;
            threads.add(new Thread(() -> {
                try {
                    InterProcessMutex m = new InterProcessMutex(c, "/lock");
                    for (int i = 0; i < 10; i++) {
                        m.acquire();
                        try {
                            if (inside.incrementAndGet() != 1)
                                overlap.incrementAndGet();
                            int v = Integer.parseInt(new String(c.getData().forPath("/counter-plain")));
                            c.setData().forPath("/counter-plain", Integer.toString(v + 1).getBytes());
                            inside.decrementAndGet();
                        } finally {
                            m.release();
                        }
                    }
                } catch (Exception e) {
                    result("mutex.error", e);
                }
            }));
        }
        for (Thread t : threads)
            t.start();
        for (Thread t : threads)
            t.join();
        result("mutex.counter", new String(a.getData().forPath("/counter-plain")));
        result("mutex.overlaps", overlap.get());

        /* ---- caches: CuratorCache, TreeCache and PathChildrenCache on one client ---- */
        a.create().forPath("/cache", "root".getBytes());
        a.create().forPath("/cache/pre", "p".getBytes());
        List<String> cc = new CopyOnWriteArrayList<>();
        List<String> tc = new CopyOnWriteArrayList<>();
        List<String> pc = new CopyOnWriteArrayList<>();
        CountDownLatch ccInit = new CountDownLatch(1);
        CuratorCache curatorCache = CuratorCache.build(ccClient, "/cache");
        curatorCache.listenable().addListener(new CuratorCacheListener() {
            @Override
            public void event(Type type, org.apache.curator.framework.recipes.cache.ChildData oldData,
                              org.apache.curator.framework.recipes.cache.ChildData data) {
                org.apache.curator.framework.recipes.cache.ChildData d = data != null ? data : oldData;
                cc.add(type + ":" + d.getPath() + ":" + (d.getData() == null ? "" : new String(d.getData())));
            }

            @Override
            public void initialized() {
                ccInit.countDown();
            }
        });
        TreeCache treeCache = TreeCache.newBuilder(a, "/cache").build();
        CountDownLatch tcInit = new CountDownLatch(1);
        treeCache.getListenable().addListener((cl, ev) -> {
            if (ev.getType() == TreeCacheEvent.Type.INITIALIZED)
                tcInit.countDown();
            else if (ev.getData() != null)
                tc.add(ev.getType() + ":" + ev.getData().getPath());
        });
        PathChildrenCache childCache = new PathChildrenCache(a, "/cache", true);
        CountDownLatch pcInit = new CountDownLatch(1);
        childCache.getListenable().addListener((cl, ev) -> {
            if (ev.getType() == PathChildrenCacheEvent.Type.INITIALIZED)
                pcInit.countDown();
            else if (ev.getData() != null)
                pc.add(ev.getType() + ":" + ev.getData().getPath());
        });
        curatorCache.start();
        treeCache.start();
        childCache.start(PathChildrenCache.StartMode.POST_INITIALIZED_EVENT);
        result("cache.initialized", ccInit.await(WAIT_MS, TimeUnit.MILLISECONDS) &&
               tcInit.await(WAIT_MS, TimeUnit.MILLISECONDS) && pcInit.await(WAIT_MS, TimeUnit.MILLISECONDS));
        /* each change, then wait until every cache that must see it has: none may miss one */
        String[][] steps = {
            { "create", "/cache/a", "1" }, { "create", "/cache/a/b", "2" }, { "set", "/cache/a", "3" },
            { "delete", "/cache/a/b", "" }, { "set", "/cache/pre", "q" }, { "delete", "/cache/a", "" },
        };
        int[][] expect = { { 3, 3, 2 }, { 4, 4, 2 }, { 5, 5, 3 }, { 6, 6, 3 }, { 7, 7, 4 }, { 8, 8, 5 } };
        boolean complete = true;
        for (int i = 0; i < steps.length; i++) {
            String[] s = steps[i];
            if (s[0].equals("create"))
                b.create().forPath(s[1], s[2].getBytes());
            else if (s[0].equals("set"))
                b.setData().forPath(s[1], s[2].getBytes());
            else
                b.delete().forPath(s[1]);
            int[] e = expect[i];
            if (!waitFor(() -> cc.size() >= e[0] && tc.size() >= e[1] && pc.size() >= e[2])) {
                result("cache.step" + i, "TIMEOUT");
                complete = false;
                break;
            }
        }
        result("cache.complete", complete);
        result("cache.curator", join(cc));
        result("cache.tree", join(tc));
        result("cache.children", join(pc));
        result("cache.curator_size", curatorCache.size());
        curatorCache.close();
        treeCache.close();
        childCache.close();

        /* ---- DistributedAtomicLong: increments from two sessions, compare-and-set ---- */
        AtomicInteger failures = new AtomicInteger();
        List<Thread> incs = new ArrayList<>();
        for (CuratorFramework c : new CuratorFramework[] { a, b }) {
            incs.add(new Thread(() -> {
                DistributedAtomicLong n = new DistributedAtomicLong(c, "/counter", new RetryNTimes(100, 1));
                try {
                    for (int i = 0; i < 25; i++) {
                        AtomicValue<Long> v = n.increment();
                        while (!v.succeeded()) {
                            failures.incrementAndGet();
                            v = n.increment();
                        }
                    }
                } catch (Exception e) {
                    result("atomic.error", e);
                }
            }));
        }
        for (Thread t : incs)
            t.start();
        for (Thread t : incs)
            t.join();
        DistributedAtomicLong n = new DistributedAtomicLong(a, "/counter", new RetryNTimes(3, 10));
        result("atomic.value", n.get().postValue());
        result("atomic.cas_ok", n.compareAndSet(50L, 100L).succeeded());
        result("atomic.cas_stale", n.compareAndSet(50L, 7L).succeeded());
        result("atomic.final", n.get().postValue());

        /* ---- TTL nodes ---- */
        if (ttl) {
            long t0 = System.currentTimeMillis();
            a.create().withTtl(1000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath("/ttl-a", "x".getBytes());
            result("ttl.created", a.checkExists().forPath("/ttl-a") != null);
            result("ttl.owner", a.checkExists().forPath("/ttl-a").getEphemeralOwner());
            /* a sequential TTL node with a child outlives a childless one of the same TTL */
            String seq = a.create().withTtl(1000).withMode(CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL)
                .forPath("/ttl-s-");
            result("ttl.sequential", seq.startsWith("/ttl-s-") && seq.length() == "/ttl-s-".length() + 10);
            a.create().forPath(seq + "/child");
            a.create().withTtl(1000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath("/ttl-b");
            boolean gone = waitFor(() -> {
                try {
                    return a.checkExists().forPath("/ttl-a") == null && a.checkExists().forPath("/ttl-b") == null;
                } catch (Exception e) {
                    return false;
                }
            });
            long elapsed = System.currentTimeMillis() - t0;
            result("ttl.reaped", gone);
            result("ttl.not_before_ttl", elapsed >= 1000);
            result("ttl.with_child_kept", a.checkExists().forPath(seq) != null);
            a.delete().forPath(seq + "/child");
            result("ttl.reaped_once_empty", waitFor(() -> {
                try {
                    return a.checkExists().forPath(seq) == null;
                } catch (Exception e) {
                    return false;
                }
            }));
            /* PersistentTtlNode: a container with a TTL child it touches; gone after close */
            PersistentTtlNode ptn = new PersistentTtlNode(a, "/ptn", 1000, "v".getBytes());
            ptn.start();
            result("ptn.created", ptn.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS));
            result("ptn.touch", waitFor(() -> {
                try {
                    return a.checkExists().forPath("/ptn/touch") != null;
                } catch (Exception e) {
                    return false;
                }
            }));
            result("ptn.data", new String(a.getData().forPath("/ptn")));
            ptn.close();
            result("ptn.gone_after_close", waitFor(() -> {
                try {
                    return a.checkExists().forPath("/ptn") == null;
                } catch (Exception e) {
                    return false;
                }
            }));
        } else {
            String r;
            try {
                a.create().withTtl(1000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath("/ttl-a");
                r = "created";
            } catch (KeeperException e) {
                r = e.code().toString();
            }
            result("ttl.refused", r);
        }

        result("states", join(states));
        if (!shared)
            ccClient.close();
        a.close();
        b.close();
        System.out.println("DONE");
    }
}
