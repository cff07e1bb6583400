package org.swiattn.golden;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * How the query rows of a golden case align to its key rows (SPEC.md section 2.1), in the form a caller of a
 * real kernel passes it, and stored that way in the case file (SPEC.md section 13.1, "Segments of a case").
 *
 * <pre>
 *   form           metadata "segments"   tensors of the case file           spec table ({@link Segments})
 *   SELF           self                  -                                   selfAttention: Sq = Sk = S
 *   BOTTOM_RIGHT   bottom_right          -                                   bottomRight: Sq &lt;= Sk, chunk at Sk-Sq
 *   KV_CACHE       kv_cache              cache_seqlens I32 [B]               kvCache(shape, cache_seqlens)
 *   PACKED         packed                cu_seqlens_q, cu_seqlens_k I32 [n+1] packed(shape, cu_q, cu_k)
 * </pre>
 * Key rows inside no segment (a padded cache's slots beyond a sequence's length) hold the generator's values, or
 * NaN when {@code unusedNaN} (metadata {@code unused_kv = nan}): either way they must not change any result.
 *
 * @param cacheSeqlens [B] KV_CACHE only, else null
 * @param cuSeqlensQ   [n+1] PACKED only, else null
 * @param cuSeqlensK   [n+1] PACKED only, else null
 */
public record CaseSegments(Form form, int[] cacheSeqlens, int[] cuSeqlensQ, int[] cuSeqlensK, boolean unusedNaN) {

    /** The four forms of the spec's segment table that golden cases use. */
    public enum Form {
        /** Self-attention prefill (every suite-1 case). */
        SELF,
        /** Chunked prefill against a full cache: the Sq queries are the last Sq of the Sk keys. */
        BOTTOM_RIGHT,
        /** Decode or chunked prefill against a padded cache of capacity Sk with per-sequence lengths. */
        KV_CACHE,
        /** Packed variable-length batch (cu_seqlens over the flat rows). */
        PACKED;

        /** The metadata name: self, bottom_right, kv_cache, packed. */
        public String metadataName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Self-attention prefill. */
    public static final CaseSegments SELF = new CaseSegments(Form.SELF, null, null, null, false);
    /** Chunked prefill: bottom-right aligned against a full cache. */
    public static final CaseSegments BOTTOM_RIGHT = new CaseSegments(Form.BOTTOM_RIGHT, null, null, null, false);

    public CaseSegments {
        cacheSeqlens = cacheSeqlens == null ? null : cacheSeqlens.clone();
        cuSeqlensQ = cuSeqlensQ == null ? null : cuSeqlensQ.clone();
        cuSeqlensK = cuSeqlensK == null ? null : cuSeqlensK.clone();
        boolean cache = form == Form.KV_CACHE;
        boolean packed = form == Form.PACKED;
        if (cache != (cacheSeqlens != null) || packed != (cuSeqlensQ != null) || packed != (cuSeqlensK != null)) {
            throw new IllegalArgumentException("segments " + form + ": cacheSeqlens given " + (cacheSeqlens != null)
                    + ", cuSeqlens given " + (cuSeqlensQ != null) + "/" + (cuSeqlensK != null));
        }
    }

    /** A padded KV cache with these valid lengths per batch row (the new tokens' keys included). */
    public static CaseSegments kvCache(int... cacheSeqlens) {
        return new CaseSegments(Form.KV_CACHE, cacheSeqlens, null, null, false);
    }

    /** Packed self-attention: documents of these lengths, one after another, queries and keys packed alike. */
    public static CaseSegments packedSelf(int... lengths) {
        int[] cu = cumulative(lengths);
        return new CaseSegments(Form.PACKED, null, cu, cu, false);
    }

    /** Packed variable-length batch: segment s has qLengths[s] queries (its last ones) and kLengths[s] keys. */
    public static CaseSegments packed(int[] qLengths, int[] kLengths) {
        return new CaseSegments(Form.PACKED, null, cumulative(qLengths), cumulative(kLengths), false);
    }

    /** These segments with the key rows in no segment set to NaN. */
    public CaseSegments withUnusedNaN() {
        return new CaseSegments(form, cacheSeqlens, cuSeqlensQ, cuSeqlensK, true);
    }

    private static int[] cumulative(int[] lengths) {
        int[] cu = new int[lengths.length + 1];
        for (int s = 0; s < lengths.length; s++) {
            cu[s + 1] = cu[s] + lengths[s];
        }
        return cu;
    }

    /** The validated spec table for a case's shape (names the argument and value on a mismatch). */
    public Segments of(Shape shape) {
        return switch (form) {
            case SELF -> Segments.selfAttention(shape);
            case BOTTOM_RIGHT -> Segments.bottomRight(shape);
            case KV_CACHE -> Segments.kvCache(shape, cacheSeqlens);
            case PACKED -> Segments.packed(shape, cuSeqlensQ, cuSeqlensK);
        };
    }

    /** The tensors that carry this form in a case file (int32, FlashAttention's dtype): none for SELF, BOTTOM_RIGHT. */
    public List<GTensor> tensors() {
        List<GTensor> out = new ArrayList<>();
        if (form == Form.KV_CACHE) {
            out.add(GTensor.ints("cache_seqlens", Dtype.I32, longs(cacheSeqlens), cacheSeqlens.length));
        } else if (form == Form.PACKED) {
            out.add(GTensor.ints("cu_seqlens_q", Dtype.I32, longs(cuSeqlensQ), cuSeqlensQ.length));
            out.add(GTensor.ints("cu_seqlens_k", Dtype.I32, longs(cuSeqlensK), cuSeqlensK.length));
        }
        return out;
    }

    /** [B] a copy, or null. */
    @Override
    public int[] cacheSeqlens() {
        return cacheSeqlens == null ? null : cacheSeqlens.clone();
    }

    /** [n+1] a copy, or null. */
    @Override
    public int[] cuSeqlensQ() {
        return cuSeqlensQ == null ? null : cuSeqlensQ.clone();
    }

    /** [n+1] a copy, or null. */
    @Override
    public int[] cuSeqlensK() {
        return cuSeqlensK == null ? null : cuSeqlensK.clone();
    }

    /** The value of metadata {@code unused_kv}: how key rows in no segment are filled. */
    public String unusedKv() {
        return unusedNaN ? "nan" : "generator";
    }

    private static long[] longs(int[] x) {
        return Arrays.stream(x).asLongStream().toArray();
    }

    @Override
    public String toString() {
        return form.metadataName() + (cacheSeqlens != null ? " cache_seqlens=" + Arrays.toString(cacheSeqlens) : "")
                + (cuSeqlensQ != null ? " cu_seqlens_q=" + Arrays.toString(cuSeqlensQ) + " cu_seqlens_k="
                        + Arrays.toString(cuSeqlensK) : "") + (unusedNaN ? " unused_kv=nan" : "");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CaseSegments c && form == c.form && unusedNaN == c.unusedNaN
                && Arrays.equals(cacheSeqlens, c.cacheSeqlens) && Arrays.equals(cuSeqlensQ, c.cuSeqlensQ)
                && Arrays.equals(cuSeqlensK, c.cuSeqlensK);
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }
}
