import java.lang.reflect.Field;

/**
 * Starts Amazon's DynamoDB Local the way its own main class does, with two differences the local runtime needs:
 *
 * 1. It listens on one interface (127.0.0.1 unless -Drtp.host says otherwise). DynamoDB Local has no option for
 *    that: its Jetty server binds every interface, so anyone on the network could read and write the tables with
 *    any credentials. The launcher sets the host on the server's connector before it starts.
 * 2. It dies with the process that started it. The runtime holds the other end of this process's stdin; when the
 *    runtime ends for any reason (Ctrl-C, a crash, kill -9), the kernel closes that pipe, the read below returns
 *    end-of-file, and the JVM halts. No orphan keeps the port (and a stale database) for the next start.
 *
 * Only reflection is used, so the file compiles without DynamoDB Local on the class path; if a future DynamoDB
 * Local renames what it touches, the launcher exits with code 97 and the runtime falls back to the plain jar.
 */
public final class DynamoDbLocalLauncher {
  private static final int INCOMPATIBLE = 97;

  public static void main(String[] args) throws Exception {
    Thread watchdog = new Thread(DynamoDbLocalLauncher::haltWhenParentGoes, "rtp-parent-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();

    String host = System.getProperty("rtp.host", "127.0.0.1");
    Object proxyServer;
    try {
      Class<?> runner = Class.forName("software.amazon.dynamodb.services.local.main.ServerRunner");
      proxyServer = runner.getMethod("createServerFromCommandLineArgs", String[].class).invoke(null, (Object) args);
      Field field = proxyServer.getClass().getDeclaredField("server");
      field.setAccessible(true);
      Object jetty = field.get(proxyServer);
      for (Object connector : (Object[]) jetty.getClass().getMethod("getConnectors").invoke(jetty)) {
        connector.getClass().getMethod("setHost", String.class).invoke(connector, host);
      }
    } catch (ReflectiveOperationException | ClassCastException e) {
      System.err.println("rtp-launcher-incompatible " + e);
      System.exit(INCOMPATIBLE);
      return;
    }
    proxyServer.getClass().getMethod("start").invoke(proxyServer);
    System.err.println("rtp-launcher-listening " + host);
    proxyServer.getClass().getMethod("join").invoke(proxyServer);
  }

  private static void haltWhenParentGoes() {
    try {
      while (System.in.read() != -1) {
        // The runtime never writes; anything it did write is ignored.
      }
    } catch (Exception ignored) {
      // A broken pipe means the same as end-of-file: nobody is watching any more.
    }
    // halt, not exit: shutdown hooks could block, and SQLite (-dbPath) survives a halt like a kill.
    Runtime.getRuntime().halt(0);
  }
}
