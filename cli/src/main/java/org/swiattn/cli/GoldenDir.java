package org.swiattn.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The {@code --golden DIR} option shared by the golden and check commands. Default: {@code $SWIATTN_HOME/golden}
 * where the launcher sets the system property {@code swiattn.home} to the repository root, else {@code ./golden}.
 */
public final class GoldenDir {
    @Option(names = "--golden", paramLabel = "DIR",
            description = "golden folder with manifest.json (default: the repository's golden/)")
    Path dir;

    /** The folder to use. */
    public Path get() {
        if (dir != null) {
            return dir;
        }
        return defaultDir();
    }

    /** The default golden folder. */
    public static Path defaultDir() {
        String home = System.getProperty("swiattn.home");
        return home != null ? Path.of(home, "golden") : Path.of("golden");
    }
}
