package org.swiattn.training;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.swiattn.training.demo.RecallTask;
import org.swiattn.training.demo.TransferDemo;

/** A miniature run of the demo: it completes, the transfer is exact, the outputs are written and reproducible. */
class TransferDemoTest {

    private static TransferDemo.Options tiny(int threads) {
        TransferDemo.Options d = TransferDemo.Options.defaults();
        return new TransferDemo.Options(7, 12, 8, 8, 32, d.lr(), d.cptLr(), d.routerLrScale(), d.routerDecay(),
                0.2, 4, d.measure(), d.penalty(), d.lambdaLr(), d.estimator(), d.p0(), 8, 2, 2, 1, 4, 8, 2,
                new RecallTask(4, 4, 2, 12, 2, 2), threads, 2);
    }

    @Test
    void miniatureRunIsExactAtTransferAndReproducible(@TempDir Path tmp) throws Exception {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        TransferDemo.Report a = TransferDemo.run(tiny(1), quiet);
        TransferDemo.Report b = TransferDemo.run(tiny(2), quiet);
        // at transfer the hybrid is the full model: identical held-out loss and accuracy, every token on full
        assertThat(a.atTransfer().loss()).isEqualTo(a.full().loss());
        assertThat(a.atTransfer().accuracy()).isEqualTo(a.full().accuracy());
        assertThat(a.atTransfer().tokenRatio()).containsOnly(1.0);
        assertThat(a.window().costRatio()).containsOnly(a.window().costRatio()[0]);
        assertThat(a.window().costRatio()[0]).isLessThan(1.0);
        // reproducible whatever the thread count
        assertThat(b.swiattn().loss()).isEqualTo(a.swiattn().loss());
        assertThat(b.swiattn().tokenRatio()).isEqualTo(a.swiattn().tokenRatio());
        TransferDemo.write(a, tmp);
        for (String f : List.of("results.csv", "positions.csv", "training_log.csv", "transfer_demo.png")) {
            assertThat(Files.size(tmp.resolve(f))).as(f).isGreaterThan(100);
        }
        List<String> rows = Files.readAllLines(tmp.resolve("results.csv"));
        assertThat(rows.get(0)).startsWith("model,loss,accuracy,full_ratio_layer0,full_ratio_layer1");
        assertThat(rows).hasSize(1 + 4 + 1);
        assertThat(TransferDemo.table(a).lines().count()).isEqualTo(5);
    }
}
