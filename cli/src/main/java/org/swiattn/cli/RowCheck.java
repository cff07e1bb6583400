package org.swiattn.cli;

import java.util.Locale;
import java.util.SplittableRandom;
import org.swiattn.reference.NaiveAttention;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.reference.ScoreMagnitude;
import org.swiattn.reference.TermMagnitudes;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Precision;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Tolerance;

/**
 * The bench's check of a device forward on sampled flat query rows against the fp64 reference, judged by the spec's
 * tolerance policy ({@link Tolerance}) on those rows:
 *
 * <pre>{@code
 *   rows     n flat query rows: the last one, the last of the segment with the most keys, and n-2 drawn with
 *            SplittableRandom(seed + 7)
 *   errO     ||o - ref|| / max(||ref||, ||T||) over the rows (T: TermMagnitudes of the rows)
 *   bound    Tolerance.bound(p, e_naive, M): e_naive the same error of NaiveAttention(p) on the same rows (not
 *            used for fp64), M = ScoreMagnitude over the rows
 *   errLSE   max |lse - ref| over the rows (printed, not judged)
 * }</pre>
 */
final class RowCheck {
    private RowCheck() {
    }

    /** The errors of the sampled rows and the bound of errO. */
    record Result(double errO, double errLse, double bound) {
        /** Not checked: every field NaN. */
        static final Result NONE = new Result(Double.NaN, Double.NaN, Double.NaN);

        /** Whether the rows pass (true when not checked). */
        boolean pass() {
            return Double.isNaN(bound) || errO <= bound;
        }

        /** One line: errO / bound and the verdict, or "not checked". */
        String describe() {
            return Double.isNaN(bound) ? "not checked" : String.format(Locale.ROOT, "errO %.3e / bound %.3e %s, "
                    + "errLSE %.3e", errO, bound, pass() ? "PASS" : "FAIL", errLse);
        }
    }

    /** The device's results at the rows: o [R,Hq,D] and lse [R,Hq] in the rows' order. */
    interface Reader {
        /** o of flat row r [Hq*D] and lse of flat row r [Hq]: {o, lse}. */
        double[][] row(int r);
    }

    /**
     * n sampled flat query rows of the inputs: the last flat row first, then the last query row of the segment with
     * the most keys (the deepest position: beyond w there, so full and window rows differ when a segment is longer
     * than w; packed documents otherwise may all be shorter), then drawn from seed + 7.
     *
     * @param in not modified
     */
    static int[] rows(AttentionInputs in, int n, long seed) {
        Shape sh = in.shape();
        Segments seg = in.segments();
        int deepest = sh.rows() - 1;
        int mostKeys = -1;
        for (int s = 0; s < seg.count(); s++) {
            if (seg.qLen(s) > 0 && seg.kLen(s) > mostKeys) {
                mostKeys = seg.kLen(s);
                deepest = seg.qStart(s) + seg.qLen(s) - 1;
            }
        }
        int[] rows = new int[n];
        SplittableRandom rnd = new SplittableRandom(seed + 7);
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i == 0 ? sh.rows() - 1 : i == 1 ? deepest : rnd.nextInt(sh.rows());
        }
        return rows;
    }

    /**
     * Judges the device results at the rows.
     *
     * @param in   the inputs the device computed (device values, widened); not modified
     * @param p    the device's precision
     * @param rows flat query rows; not modified
     * @param got  reads the device results
     */
    static Result judge(AttentionInputs in, Precision p, int[] rows, Reader got) {
        Shape sh = in.shape();
        int hd = sh.qHeads() * sh.headDim();
        double[] o = new double[rows.length * hd];
        double[] lse = new double[rows.length * sh.qHeads()];
        for (int i = 0; i < rows.length; i++) {
            double[][] x = got.row(rows[i]);
            System.arraycopy(x[0], 0, o, i * hd, hd);
            System.arraycopy(x[1], 0, lse, i * sh.qHeads(), sh.qHeads());
        }
        RowsResult ref = new ReferenceAttention(true).forwardRows(in, rows);
        double t = ErrorMeasures.normOfDifference(TermMagnitudes.forwardRows(in, rows).o(), null);
        double naive = p == Precision.FP64 ? 0
                : ErrorMeasures.normwiseRelative(new NaiveAttention(p).forwardRows(in, rows).o(), ref.o(), t);
        double bound = Tolerance.bound(p, naive, ScoreMagnitude.maxOverRows(in, rows));
        return new Result(ErrorMeasures.normwiseRelative(o, ref.o(), t), ErrorMeasures.maxAbs(lse, ref.lse()), bound);
    }
}
