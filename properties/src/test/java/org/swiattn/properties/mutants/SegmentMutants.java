package org.swiattn.properties.mutants;

import java.util.ArrayList;
import java.util.List;

import org.swiattn.properties.SegmentSlices;
import org.swiattn.reference.Mistake;
import org.swiattn.reference.RowsComputation;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * The spec 2.0 mistakes of the field as implementations: the reference with one bug each, for
 * {@link SuiteCatchesMutantsTest}. They answer supportsSegments() true, so the segment properties run on them.
 *
 * <pre>{@code
 *   mutant                        bug                                                      seen in
 *   top-left (*)                  Sq < Sk aligned top-left: query i sees keys 0..i       PyTorch SDPA is_causal,
 *                                 of its segment (not kLen-qLen+i)                         ONNX before its errata
 *   crossing-segments (*)         a segment's queries also see the keys of the earlier     packing without a
 *                                 segments of their batch row (no document mask)           document mask
 *   positions-not-restarted       the position of a query counts the query rows of the     varlen position bugs
 *                                 segments before it (capped at its segment's last key)
 *   decode-ignores-window         a decode step (Sq = 1) attends to the whole cache on     nanochat #452, hnet #20
 *                                 the window branch
 *   gradients-beyond-length       dK, dV of key rows outside every segment are left        FlashAttention #2324
 *                                 uninitialised (non-zero)
 * }</pre>
 * (*) the catalogue's own entries ({@link Mistake}). Several of the others compute each segment or row as a call
 * of its own on the reference ({@link SegmentSlices#slice})
 * and put the results together ({@link Stitched}).
 */
final class SegmentMutants {
    static final SwitchAttention REF = SuiteCatchesMutantsTest.REF;
    static final RowsComputation REF_ROWS = SuiteCatchesMutantsTest.REF;

    private SegmentMutants() {
    }

    /** The reference with a hook to break it; supportsSegments() true. */
    static class SegmentMutant extends SuiteCatchesMutantsTest.Mutant {
        SegmentMutant(String name) {
            super(name);
        }

        @Override
        public boolean supportsSegments() {
            return true;
        }
    }

    /** Query rows q0 .. q0+nq-1 computed as a call of their own against key rows k0 .. k0+nk-1 with window w. */
    record Slice(int q0, int nq, int k0, int nk, int window) {
    }

    /** The slices' calls on the reference put together: O, LSE, dQ, dRouterLogit rows copied, dK, dV summed. */
    static final class Stitched {
        final ForwardResult forward;
        final BackwardResult backward;

        /**
         * @param in     the whole call; not modified
         * @param dOut   [B*Sq,Hq,D] or null (forward only); not modified
         * @param slices covering every query row once
         */
        Stitched(AttentionInputs in, double[] dOut, List<Slice> slices) {
            Shape sh = in.shape();
            int qw = sh.qHeads() * sh.headDim();
            int kw = sh.kvHeads() * sh.headDim();
            double[] o = new double[sh.qSize()];
            double[] lse = new double[sh.lseSize()];
            double[] dq = new double[sh.qSize()];
            double[] dk = new double[sh.kvSize()];
            double[] dv = new double[sh.kvSize()];
            double[] da = new double[sh.rows()];
            for (Slice s : slices) {
                AttentionInputs part = SegmentSlices.slice(in, s.q0(), s.nq(), s.k0(), s.nk(), s.window());
                ForwardResult f = REF.forward(part);
                System.arraycopy(f.o(), 0, o, s.q0() * qw, f.o().length);
                System.arraycopy(f.lse(), 0, lse, s.q0() * sh.qHeads(), f.lse().length);
                if (dOut != null) {
                    BackwardResult g = REF.backward(part, SegmentSlices.rows(dOut, qw, s.q0(), s.nq()));
                    System.arraycopy(g.dq(), 0, dq, s.q0() * qw, g.dq().length);
                    System.arraycopy(g.dRouterLogit(), 0, da, s.q0(), g.dRouterLogit().length);
                    SegmentSlices.addRows(g.dk(), dk, kw, s.k0());
                    SegmentSlices.addRows(g.dv(), dv, kw, s.k0());
                }
            }
            forward = new ForwardResult(sh, o, lse);
            backward = dOut == null ? null : new BackwardResult(sh, dq, dk, dv, da);
        }
    }

    /** A mutant that computes through slices of the call chosen by {@link #slices}. */
    abstract static class SlicedMutant extends SegmentMutant {
        SlicedMutant(String name) {
            super(name);
        }

        /** The calls that make up the (wrong) result; inputs may be rewritten first by {@link #prepare}. */
        abstract List<Slice> slices(AttentionInputs in);

        /** The inputs the slices read (default: unchanged). */
        AttentionInputs prepare(AttentionInputs in) {
            return in;
        }

        @Override
        public ForwardResult forward(AttentionInputs in) {
            AttentionInputs p = prepare(in);
            return new Stitched(p, null, slices(p)).forward;
        }

        @Override
        public BackwardResult backward(AttentionInputs in, double[] dOut) {
            in.checkOutputGradient(dOut);
            AttentionInputs p = prepare(in);
            return new Stitched(p, dOut, slices(p)).backward;
        }
    }

    /** Top-left alignment: the catalogue's entry (SPEC.md section 10.1), planted as check --explain plants it. */
    static final SwitchAttention TOP_LEFT = Mistake.TOP_LEFT.planted(REF_ROWS);

    /** Attention crossing packed segments: the catalogue's entry, planted as check --explain plants it. */
    static final SwitchAttention CROSSING_SEGMENTS = Mistake.CROSSING_SEGMENTS.planted(REF_ROWS);

    /**
     * Positions not restarted per segment: query row r of segment s sits at position min(kLen - 1, p + qStart[s]),
     * counting the query rows of the segments before it.
     */
    static final SwitchAttention POSITIONS_NOT_RESTARTED = new SlicedMutant("positions-not-restarted") {
        @Override
        List<Slice> slices(AttentionInputs in) {
            Segments seg = in.segments();
            List<Slice> out = new ArrayList<>();
            for (int r = 0; r < in.shape().rows(); r++) {
                int s = seg.segmentOf(r);
                int p = Math.min(seg.kLen(s) - 1, seg.position(r) + seg.qStart(s));
                out.add(new Slice(r, 1, seg.kStart(s), p + 1, in.window()));
            }
            return out;
        }
    };

    /** A decode step (Sq = 1 against a cache) ignores the window: the window branch sees the whole cache. */
    static final SwitchAttention DECODE_IGNORES_WINDOW = new SegmentMutant("decode-ignores-window") {
        private AttentionInputs unwindowed(AttentionInputs in) {
            boolean decode = in.shape().seqLen() == 1 && !in.segments().isSelfAttention();
            return decode ? in.toBuilder().window(Integer.MAX_VALUE).build() : in;
        }

        @Override
        public ForwardResult forward(AttentionInputs in) {
            return REF.forward(unwindowed(in));
        }

        @Override
        public BackwardResult backward(AttentionInputs in, double[] dOut) {
            return REF.backward(unwindowed(in), dOut);
        }
    };

    /** dK, dV of key rows outside every segment left uninitialised: whatever was in the buffer (here 0.5). */
    static final SwitchAttention GRADIENTS_BEYOND_LENGTH = new SegmentMutant("gradients-beyond-length") {
        @Override
        public BackwardResult backward(AttentionInputs in, double[] dOut) {
            BackwardResult g = REF.backward(in, dOut);
            Shape sh = in.shape();
            int kw = sh.kvHeads() * sh.headDim();
            double[] dk = g.dk().clone();
            double[] dv = g.dv().clone();
            for (int kr = 0; kr < sh.kvRows(); kr++) {
                if (!in.segments().keyRowUsed(kr)) {
                    java.util.Arrays.fill(dk, kr * kw, (kr + 1) * kw, 0.5);
                    java.util.Arrays.fill(dv, kr * kw, (kr + 1) * kw, 0.5);
                }
            }
            return new BackwardResult(sh, g.dq(), dk, dv, g.dRouterLogit());
        }
    };
}
