package org.swiattn.training;

import java.util.ArrayList;
import java.util.List;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * Test-only: the smooth function whose true gradient at the recorded point is a training estimator's gradient.
 * Each layer's call first records (z0, p0) of its route, then every later forward computes, with z0 and p0 frozen:
 * <pre>
 *   STRAIGHT_THROUGH  m = z0 + p - p0,   o = m oF + (1 - m) oW
 *   SELECTED_BRANCH   o = oZ0 * pZ0(a) / pZ0(a0)   (p1 = p, p0 = 1 - p)
 * </pre>
 * Finite differences of a decoder using this attention therefore check the decoder's STE / SB gradients.
 */
final class SurrogateAttention implements SwitchAttention {
    private final ReferenceAttention inner = new ReferenceAttention(false);
    private final Estimator estimator;
    private final List<boolean[]> z0 = new ArrayList<>();
    private final List<double[]> p0 = new ArrayList<>();
    private int call;
    private boolean recording = true;

    SurrogateAttention(Estimator estimator) {
        this.estimator = estimator;
    }

    /** Ends recording; later forwards replay the recorded (z0, p0) layer by layer. */
    void freeze() {
        recording = false;
    }

    @Override
    public String name() {
        return "surrogate-" + estimator;
    }

    @Override
    public Precision precision() {
        return Precision.FP64;
    }

    @Override
    public ForwardResult forward(AttentionInputs in) {
        Shape s = in.shape();
        Route r = in.route();
        int layer;
        if (recording) {
            z0.add(r.mask());
            p0.add(Router.probabilities(r.logits()));
            layer = z0.size() - 1;
        } else {
            layer = call++ % z0.size();
        }
        boolean[] z = z0.get(layer);
        double[] pBase = p0.get(layer);
        double[] oF = inner.forward(in.toBuilder().route(Route.allFull(s.batch(), s.seqLen()))
                .estimator(Estimator.HARD).build()).o();
        double[] oW = inner.forward(in.toBuilder().route(Route.allWindow(s.batch(), s.seqLen()))
                .estimator(Estimator.HARD).build()).o();
        double[] o = new double[s.qSize()];
        int hd = s.qHeads() * s.headDim();
        for (int row = 0; row < s.rows(); row++) {
            double p = r.probability(row);
            double wf;
            double ww;
            if (estimator == Estimator.STRAIGHT_THROUGH) {
                double m = (z[row] ? 1 : 0) + p - pBase[row];
                wf = m;
                ww = 1 - m;
            } else {
                double ratio = z[row] ? p / pBase[row] : (1 - p) / (1 - pBase[row]);
                wf = z[row] ? ratio : 0;
                ww = z[row] ? 0 : ratio;
            }
            for (int t = row * hd; t < (row + 1) * hd; t++) {
                o[t] = wf * oF[t] + ww * oW[t];
            }
        }
        return new ForwardResult(s, o, new double[s.lseSize()]);
    }

    @Override
    public BackwardResult backward(AttentionInputs in, double[] dOut) {
        throw new UnsupportedOperationException("forward only: used for finite differences");
    }
}
