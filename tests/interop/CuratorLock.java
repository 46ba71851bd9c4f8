// Interop worker: Apache Curator 5.4 (Debian libcurator-*-java) on one lock
// path, next to kazoo and zklock workers (tests/test_interop.sh).
//
// usage: java CuratorLock HOSTS PATH MODE K COUNTER LOG [HOLD_MS] [ITER_TIMEOUT_S]
//   MODE: mutex | rwlock-read | rwlock-write | semaphore:N | leaderlatch
//   K iterations; each: acquire, append "<enter_ns> <exit_ns> <kind> <who>"
//   to LOG, and for exclusive kinds (mutex, rwlock-write, leaderlatch) a
//   read-sleep-write increment of the integer in COUNTER while holding.
//   Readers and semaphore holders only read/sleep (overlap is checked from
//   LOG). HOLD_MS (default 5) is the sleep inside the hold.
//   ITER_TIMEOUT_S (default 120): an acquisition that takes longer fails the
//   worker with exit 3 (a deadlock or a stuck foreign node).
// Exit 0 on success, 2 on usage, 3 on timeout, 1 on any other error.
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.*;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class CuratorLock {
  static Path counter, log;
  static int holdMs = 5;
  static String who;

  // Wall-clock nanoseconds, comparable across processes on this machine.
  static long now() {
    java.time.Instant i = java.time.Instant.now();
    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
  }

  static void hold(char kind, boolean increment) throws Exception {
    long t0 = now();
    if (increment) {
      int v = Integer.parseInt(new String(Files.readAllBytes(counter), StandardCharsets.US_ASCII).trim());
      Thread.sleep(holdMs);
      // write-then-rename: a racing reader never sees an empty file
      Path tmp = Paths.get(counter + "." + ProcessHandle.current().pid());
      Files.write(tmp, (Integer.toString(v + 1) + "\n").getBytes(StandardCharsets.US_ASCII));
      Files.move(tmp, counter, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } else {
      Thread.sleep(holdMs);
    }
    long t1 = now();
    // One short write with O_APPEND: lines from concurrent workers never mix.
    Files.write(log, (t0 + " " + t1 + " " + kind + " " + who + "\n").getBytes(StandardCharsets.US_ASCII),
        StandardOpenOption.APPEND, StandardOpenOption.CREATE);
  }

  public static void main(String[] a) throws Exception {
    if (a.length < 6) {
      System.err.println("usage: CuratorLock HOSTS PATH MODE K COUNTER LOG [HOLD_MS] [ITER_TIMEOUT_S]");
      System.exit(2);
    }
    String hosts = a[0], path = a[1], mode = a[2];
    int k = Integer.parseInt(a[3]);
    counter = Paths.get(a[4]);
    log = Paths.get(a[5]);
    if (a.length > 6) holdMs = Integer.parseInt(a[6]);
    long limit = a.length > 7 ? Long.parseLong(a[7]) : 120;
    who = "curator-" + mode + "-" + ProcessHandle.current().pid();
    CuratorFramework c = CuratorFrameworkFactory.newClient(hosts, 10000, 5000, new ExponentialBackoffRetry(100, 5));
    c.start();
    c.blockUntilConnected();
    int rc = 0;
    try {
      for (int i = 0; i < k; i++) {
        if (mode.equals("mutex") || mode.equals("rwlock-read") || mode.equals("rwlock-write")) {
          InterProcessMutex m;
          char kind = 'x';
          if (mode.equals("mutex")) {
            m = new InterProcessMutex(c, path);
          } else {
            InterProcessReadWriteLock rw = new InterProcessReadWriteLock(c, path);
            m = mode.equals("rwlock-read") ? rw.readLock() : rw.writeLock();
            kind = mode.equals("rwlock-read") ? 'r' : 'x';
          }
          if (!m.acquire(limit, TimeUnit.SECONDS)) { rc = 3; break; }
          try { hold(kind, kind == 'x'); } finally { m.release(); }
        } else if (mode.startsWith("semaphore:")) {
          int n = Integer.parseInt(mode.substring(10));
          InterProcessSemaphoreV2 s = new InterProcessSemaphoreV2(c, path, n);
          Lease l = s.acquire(limit, TimeUnit.SECONDS);
          if (l == null) { rc = 3; break; }
          try { hold('l', false); } finally { s.returnLease(l); }
        } else if (mode.equals("leaderlatch")) {
          LeaderLatch ll = new LeaderLatch(c, path, who);
          ll.start();
          if (!ll.await(limit, TimeUnit.SECONDS)) { ll.close(); rc = 3; break; }
          try { hold('x', true); } finally { ll.close(); }
        } else {
          System.err.println("unknown mode " + mode);
          rc = 2;
          break;
        }
      }
    } catch (Exception e) {
      e.printStackTrace();
      rc = 1;
    } finally {
      c.close();
    }
    System.exit(rc);
  }
}
