package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The hardened reader under corruption: valid files are built from random tensors, then truncated, bit-flipped
 * (mostly in the header), given a random header length, or spliced. Whatever the damage, opening and reading every
 * tensor either succeeds or fails with a {@link SafeTensorsException} (one line, naming the file): never another
 * exception, never an OutOfMemoryError. A truncated file is always rejected (the tensors must tile the data).
 */
class SafeTensorsReaderProperties {
    private static Path dir;

    @BeforeContainer
    static void makeDir() throws IOException {
        dir = Files.createTempDirectory("safetensors-props");
    }

    @AfterContainer
    static void removeDir() throws IOException {
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    /** How a valid file is damaged. */
    enum Damage { TRUNCATE, FLIP_HEADER, FLIP_ANY, HEADER_LENGTH, SPLICE, NONE }

    record Spec(List<Dtype> dtypes, List<Integer> sizes, Damage damage, long where, int what) {
    }

    @Provide
    Arbitrary<Spec> damagedFiles() {
        Arbitrary<List<Dtype>> dtypes = Arbitraries.of(Dtype.F64, Dtype.F32, Dtype.BF16, Dtype.I64, Dtype.I32,
                Dtype.U8, Dtype.BOOL).list().ofMinSize(0).ofMaxSize(4);
        Arbitrary<List<Integer>> sizes = Arbitraries.integers().between(0, 9).list().ofSize(4);
        Arbitrary<Damage> damage = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, Arbitraries.just(Damage.TRUNCATE)),
                net.jqwik.api.Tuple.of(4, Arbitraries.just(Damage.FLIP_HEADER)),
                net.jqwik.api.Tuple.of(2, Arbitraries.just(Damage.FLIP_ANY)),
                net.jqwik.api.Tuple.of(2, Arbitraries.just(Damage.HEADER_LENGTH)),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(Damage.SPLICE)),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(Damage.NONE)));
        Arbitrary<Long> where = Arbitraries.longs().between(0, Long.MAX_VALUE).edgeCases(c -> c.add(0L));
        Arbitrary<Integer> what = Arbitraries.integers().between(0, 255);
        return Combinators.combine(dtypes, sizes, damage, where, what).as(Spec::new);
    }

    @Property(tries = 400)
    void damagedFilesFailCleanly(@ForAll("damagedFiles") Spec spec) throws IOException {
        byte[] good = validFile(spec);
        byte[] bad = damage(good, spec);
        Path p = Files.write(dir.resolve("case.safetensors"), bad);
        String outcome;
        try {
            SafeTensorsFile f = SafeTensorsFile.open(p);
            for (TensorInfo t : f.tensors().values()) {
                if (t.dtype().isFloating()) {
                    assertThat(f.readDoubles(t.name())).hasSize((int) t.numel());
                } else {
                    assertThat(f.readLongs(t.name())).hasSize((int) t.numel());
                }
            }
            outcome = "accepted";
        } catch (SafeTensorsException e) {
            assertThat(e.getMessage()).startsWith(p.toString()).doesNotContain("\n");
            outcome = "rejected";
        }
        if (spec.damage() == Damage.TRUNCATE || spec.damage() == Damage.SPLICE) {
            assertThat(outcome).as("a shortened or lengthened file must be rejected").isEqualTo("rejected");
        }
        if (spec.damage() == Damage.NONE) {
            assertThat(outcome).isEqualTo("accepted");
        }
        Statistics.label("outcome").collect(spec.damage(), outcome);
    }

    private static byte[] validFile(Spec spec) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("case", "x");
        for (int t = 0; t < spec.dtypes().size(); t++) {
            Dtype d = spec.dtypes().get(t);
            int n = spec.sizes().get(t);
            long[] shape = t % 2 == 0 ? new long[] {n} : new long[] {1, n};
            if (d.isFloating()) {
                double[] x = new double[n];
                for (int i = 0; i < n; i++) {
                    x[i] = i * 0.5 - 1;
                }
                w.addDoubles("t" + t, d, shape, x);
            } else {
                long[] x = new long[n];
                for (int i = 0; i < n; i++) {
                    x[i] = i % 2;
                }
                w.addLongs("t" + t, d, shape, x);
            }
        }
        Path tmp = Files.createTempFile(dir, "valid", ".safetensors");
        w.write(tmp);
        byte[] b = Files.readAllBytes(tmp);
        Files.delete(tmp);
        return b;
    }

    private static byte[] damage(byte[] good, Spec s) {
        byte[] b = good.clone();
        int headerEnd = (int) Math.min(b.length, 8 + (b[0] & 0xFF) + ((b[1] & 0xFF) << 8));
        switch (s.damage()) {
            case TRUNCATE:
                return java.util.Arrays.copyOf(b, (int) (s.where() % b.length));
            case FLIP_HEADER: {
                int pos = 8 + (int) (s.where() % Math.max(1, headerEnd - 8));
                b[pos] ^= (byte) (1 << (s.what() % 8));
                return b;
            }
            case FLIP_ANY: {
                int pos = (int) (s.where() % b.length);
                b[pos] = (byte) s.what();
                return b;
            }
            case HEADER_LENGTH: {
                long n = s.where() >>> (s.what() % 64);
                for (int i = 0; i < 8; i++) {
                    b[i] = (byte) (n >>> (8 * i));
                }
                return b;
            }
            case SPLICE: {
                int pos = (int) (s.where() % (b.length + 1));
                byte[] out = new byte[b.length + 1 + s.what() % 16];
                System.arraycopy(b, 0, out, 0, pos);
                System.arraycopy(b, pos, out, out.length - (b.length - pos), b.length - pos);
                return out;
            }
            default:
                return b;
        }
    }
}
