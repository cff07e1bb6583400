package org.swiattn.training.demo;

import org.swiattn.spec.InvalidInputException;
import org.swiattn.training.SplitMix64;

/**
 * Synthetic associative recall that a sliding window cannot solve.
 *
 * <pre>
 *   vocabulary (V = nK*nV + nK + nV + nFill):
 *     pair token  (k, v) = k*nV + v           a key and its value in one token
 *     query token  k     = nK*nV + k
 *     answer token v     = nK*nV + nK + v     (targets only)
 *     filler token f     = nK*nV + nK + nV + f
 *   sequence of length S:
 *     positions 0 .. P-1          P pair tokens, distinct keys, random values          (the "memory")
 *     positions P .. S-Q-1        random filler
 *     positions S-Q .. S-1        Q query tokens, keys drawn from the memory; target = answer token of its value
 * </pre>
 * The nearest memory token is S-Q-P+1 positions before the first query. When that distance exceeds L*(w-1), no
 * stack of L window layers can see the memory from a query: window-only attention can only guess (accuracy ~ 1/nV),
 * one full-attention hop solves it. Loss is taken on the Q query positions only.
 *
 * @param keys    {@code nK >= 1}
 * @param values  {@code nV >= 2}
 * @param fillers {@code nFill >= 1}
 * @param seqLen  S
 * @param pairs   P in [1, nK]
 * @param queries {@code Q >= 1}, with {@code P + Q <= S}
 */
public record RecallTask(int keys, int values, int fillers, int seqLen, int pairs, int queries) {

    public RecallTask {
        InvalidInputException.require(keys >= 1, "keys", "must be >= 1, got " + keys);
        InvalidInputException.require(values >= 2, "values", "must be >= 2, got " + values);
        InvalidInputException.require(fillers >= 1, "fillers", "must be >= 1, got " + fillers);
        InvalidInputException.require(pairs >= 1 && pairs <= keys, "pairs",
                "must be in [1, keys=" + keys + "], got " + pairs);
        InvalidInputException.require(queries >= 1, "queries", "must be >= 1, got " + queries);
        InvalidInputException.require(pairs + queries <= seqLen, "seqLen",
                "must be >= pairs + queries = " + (pairs + queries) + ", got " + seqLen);
    }

    /** V. */
    public int vocab() {
        return keys * values + keys + values + fillers;
    }

    /** Distance from the first query back to the last memory token: S - Q - P + 1. */
    public int gap() {
        return seqLen - queries - pairs + 1;
    }

    /** Whether L stacked windows of size w cannot reach the memory from any query: {@code gap > L (w - 1)}. */
    public boolean beyondWindows(int layers, int window) {
        return gap() > (long) layers * (window - 1);
    }

    /** First query position S - Q. */
    public int firstQuery() {
        return seqLen - queries;
    }

    /**
     * A batch of B sequences.
     *
     * @param tokens  [B,S] modified (filled)
     * @param targets [B,S] modified (answer token at query positions, -1 elsewhere)
     */
    public void sample(SplitMix64 rng, int batch, int[] tokens, int[] targets) {
        InvalidInputException.require(tokens.length == batch * seqLen && targets.length == batch * seqLen, "tokens",
                "and targets must have length B*S = " + batch * seqLen);
        int answerBase = keys * values + keys;
        int fillBase = answerBase + values;
        int[] perm = new int[keys];
        int[] valueOf = new int[keys];
        for (int b = 0; b < batch; b++) {
            int o = b * seqLen;
            // pass 1: P distinct keys (partial Fisher-Yates) with random values
            for (int k = 0; k < keys; k++) {
                perm[k] = k;
            }
            for (int n = 0; n < pairs; n++) {
                int j = n + rng.nextInt(keys - n);
                int t = perm[n];
                perm[n] = perm[j];
                perm[j] = t;
                valueOf[perm[n]] = rng.nextInt(values);
                tokens[o + n] = perm[n] * values + valueOf[perm[n]];
                targets[o + n] = -1;
            }
            // pass 2: filler
            for (int i = pairs; i < firstQuery(); i++) {
                tokens[o + i] = fillBase + rng.nextInt(fillers);
                targets[o + i] = -1;
            }
            // pass 3: queries on keys of the memory
            for (int i = firstQuery(); i < seqLen; i++) {
                int k = perm[rng.nextInt(pairs)];
                tokens[o + i] = keys * values + k;
                targets[o + i] = answerBase + valueOf[k];
            }
        }
    }
}
