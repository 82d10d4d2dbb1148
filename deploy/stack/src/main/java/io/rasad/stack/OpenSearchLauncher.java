package io.rasad.stack;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.join.ParentJoinPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.percolator.PercolatorPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.search.aggregations.matrix.MatrixAggregationPlugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Runs one OpenSearch node from Maven jars, without a distribution's directory layout.
 *
 * <p>A distribution loads its modules (HTTP transport, analysis, percolator, reindex...) from
 * {@code modules/*} directories, each with a plugin descriptor. Maven ships them only as plain
 * jars, so this launcher hands the plugin classes straight to {@link Node}, as OpenSearch's own
 * test clusters do. Everything else (ports, paths, cluster name) comes from the generated
 * {@code config/opensearch.yml} under the home directory given as the only argument.
 */
public final class OpenSearchLauncher {

    /** The modules of the standard distribution that Rasad uses. */
    private static final List<Class<? extends Plugin>> MODULES = List.of(
            Netty4Plugin.class, // HTTP and transport
            CommonAnalysisPlugin.class, // arabic_normalization, arabic_stem, synonym_graph...
            PercolatorPlugin.class, // alerts are stored as percolator queries
            ReindexPlugin.class, // mapping migrations use _reindex
            MapperExtrasPlugin.class, // rank_feature, scaled_float, search_as_you_type
            ParentJoinPlugin.class,
            PainlessPlugin.class, // scripted updates and reindex scripts
            MatrixAggregationPlugin.class);

    /** How long a clean shutdown may take before the JVM exits anyway; under the caller's wait. */
    private static final long CLOSE_TIMEOUT_SECONDS = 20;

    private OpenSearchLauncher() {}

    /** Exposes the protected constructor that accepts classpath plugins. */
    private static final class LocalNode extends Node {
        LocalNode(Environment environment) {
            super(environment, MODULES, true);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: OpenSearchLauncher <path.home>");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Settings initial = Settings.builder().put("path.home", home.toString()).build();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
                initial, Collections.emptyMap(), home.resolve("config"), () -> "rasad-local-node");
        LogConfigurator.registerErrorListener();
        // The log pattern's %node_name needs the name before log4j starts, as in Bootstrap.
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        LogConfigurator.configure(environment);
        Logger logger = LogManager.getLogger(OpenSearchLauncher.class);

        Node node = new LocalNode(environment);
        // OpenSearch's threads are daemons: without this latch the JVM would exit after start().
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                if (!node.awaitClose(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    logger.warn("node did not close within {}s", CLOSE_TIMEOUT_SECONDS);
                }
            } catch (Exception e) {
                logger.error("error while closing the node", e);
            } finally {
                stopped.countDown();
                Configurator.shutdown((LoggerContext) LogManager.getContext(false));
            }
        }, "rasad-shutdown"));
        try {
            node.start();
        } catch (Exception e) {
            logger.error("node failed to start", e);
            System.exit(1);
        }
        stopped.await();
    }
}
