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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * One decode step of the fp64 reference against a KV cache in the production shape: a batch of 8 sequences, each
 * with 32768 cached keys (the new token's included), Hq=32, Hkv=8, D=128, w=1024, routes mixed (sequences 0, 2,
 * 4, 6 full, the others window).
 *
 * <pre>{@code
 *   q [8,1,32,128]   k, v [8,32768,8,128] (4.3 GB together)   Segments.kvCache(shape, {32768 x 8})
 *   java -Xmx8g -jar jmh/target/swiattn-jmh.jar DecodeBenchmark -f 1 -wi 1 -i 3
 * }</pre>
 */
public class DecodeBenchmark {
    static final int BATCH = 8;
    static final int CACHE = 32768;

    /** The decode inputs, built once per trial. */
    @State(Scope.Benchmark)
    public static class Decode {
        AttentionInputs in;

        @Setup(Level.Trial)
        public void setup() {
            Shape sh = new Shape(BATCH, 1, 32, 8, 128, CACHE);
            Random rnd = new Random(11);
            boolean[] z = new boolean[BATCH];
            int[] lens = new int[BATCH];
            for (int b = 0; b < BATCH; b++) {
                z[b] = b % 2 == 0;
                lens[b] = CACHE;
            }
            in = AttentionInputs.builder(sh).q(ReferenceBenchmark.uniform(rnd, sh.qSize()))
                    .k(ReferenceBenchmark.uniform(rnd, sh.kvSize())).v(ReferenceBenchmark.uniform(rnd, sh.kvSize()))
                    .window(1024).route(Route.ofMask(BATCH, 1, z)).segments(Segments.kvCache(sh, lens)).build();
        }
    }

    /** The whole decode step: O [8,1,32,128] and LSE [8,1,32], on every core. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 1)
    @Measurement(iterations = 3)
    @Fork(value = 1, jvmArgsAppend = "-Xmx8g")
    public ForwardResult decodeStepB8Cache32768(Decode st) {
        return new ReferenceAttention().forward(st.in);
    }
}
