package org.swiattn.jmh;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;

/**
 * Speed of the fp64 reference on this machine (targets: whole forward at B=1, S=4096, Hq=4, Hkv=1, D=64,
 * w=1024, random route with 25% full under 10 s; one row at S=32768, D=128 under 5 ms).
 *
 * <pre>
 *   java -jar jmh/target/swiattn-jmh.jar ReferenceBenchmark -f 1 -wi 1 -i 3
 * </pre>
 */
public class ReferenceBenchmark {

    static double[] uniform(Random rnd, int n) {
        double[] x = new double[n];
        for (int k = 0; k < n; k++) {
            x[k] = 2 * rnd.nextDouble() - 1;
        }
        return x;
    }

    static AttentionInputs inputs(Shape sh, int window, double fullFraction, long seed) {
        Random rnd = new Random(seed);
        boolean[] z = new boolean[sh.rows()];
        for (int r = 0; r < z.length; r++) {
            z[r] = rnd.nextDouble() < fullFraction;
        }
        return AttentionInputs.builder(sh).q(uniform(rnd, sh.qSize())).k(uniform(rnd, sh.kvSize()))
                .v(uniform(rnd, sh.kvSize())).window(window).route(Route.ofMask(sh.batch(), sh.seqLen(), z)).build();
    }

    /** Whole forward, S=4096, Hq=4, Hkv=1, D=64, w=1024, 25% full. */
    @State(Scope.Benchmark)
    public static class Forward4k {
        AttentionInputs in;

        @Setup(Level.Trial)
        public void setup() {
            in = inputs(new Shape(1, 4096, 4, 1, 64), 1024, 0.25, 42);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Warmup(iterations = 1)
    @Measurement(iterations = 3)
    @Fork(1)
    public ForwardResult forwardS4096(Forward4k st) {
        return new ReferenceAttention().forward(st.in);
    }

    /** Row subsets at S=32768, D=128, Hkv=8: rows near the end (full branch sees ~32K keys). */
    @State(Scope.Benchmark)
    public static class Rows32k {
        @Param({"1", "32"})
        public int qHeads;
        AttentionInputs in;
        int[] rows;

        @Setup(Level.Trial)
        public void setup() {
            in = inputs(new Shape(1, 32768, qHeads, Math.min(qHeads, 8), 128), 1024, 1.0, 7);
            rows = new int[] {32767};
        }
    }

    /** One full-routed row (all Hq heads) at S=32768, D=128, evaluated single-threaded. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2, time = 2)
    @Measurement(iterations = 3, time = 2)
    @Fork(1)
    public RowsResult oneRowS32768(Rows32k st) {
        return new ReferenceAttention(false).forwardRows(st.in, st.rows);
    }
}
