package org.swiattn.training;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import org.swiattn.training.model.ModelConfig;

/** Named generators of tiny decoder configs and token batches for the training properties. */
final class ModelCases {
    private ModelCases() {
    }

    /** A tiny model and a batch for it. */
    record Case(ModelConfig config, int batch, int seqLen, long seed) {
        int[] tokens() {
            SplitMix64 rng = new SplitMix64(seed ^ 0x5DEECE66DL);
            int[] t = new int[batch * seqLen];
            for (int r = 0; r < t.length; r++) {
                t[r] = rng.nextInt(config.vocab());
            }
            return t;
        }

        /** Targets: the next token, last position of each sequence without target; at least one target. */
        int[] targets() {
            int[] tok = tokens();
            int[] t = new int[tok.length];
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < seqLen; i++) {
                    int r = b * seqLen + i;
                    t[r] = i + 1 < seqLen ? tok[r + 1] : (seqLen == 1 ? tok[r] : -1);
                }
            }
            return t;
        }

        @Override
        public String toString() {
            return config + " B=" + batch + " S=" + seqLen + " seed=" + seed;
        }
    }

    /**
     * V 3..7, C 2..6, L 1..2, Hkv 1..2, G 1..2, D in {2, 4}, F 2..5, w 1..6, B 1..2, S 1..7 (window edges w=1 and
     * {@code w >= S} included on purpose).
     */
    static Arbitrary<Case> tiny() {
        Arbitrary<Integer> vocab = Arbitraries.integers().between(3, 7);
        Arbitrary<Integer> width = Arbitraries.integers().between(2, 6);
        Arbitrary<Integer> layers = Arbitraries.integers().between(1, 2);
        Arbitrary<Integer> kv = Arbitraries.integers().between(1, 2);
        Arbitrary<Integer> group = Arbitraries.integers().between(1, 2);
        Arbitrary<Integer> dim = Arbitraries.of(2, 4);
        Arbitrary<Integer> hidden = Arbitraries.integers().between(2, 5);
        Arbitrary<Integer> window = Arbitraries.integers().between(1, 6);
        Arbitrary<Integer> batch = Arbitraries.integers().between(1, 2);
        Arbitrary<Integer> seq = Arbitraries.integers().between(1, 7);
        Arbitrary<Long> seed = Arbitraries.longs().between(0, 1L << 40);
        Arbitrary<ModelConfig> cfg = Combinators.combine(vocab, width, layers, kv, group, dim, hidden, window)
                .as((v, c, l, hk, g, d, f, w) -> ModelConfig.of(v, c, l, hk * g, hk, d, f, w));
        return Combinators.combine(cfg, batch, seq, seed).as(Case::new);
    }
}
