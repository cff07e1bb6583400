package org.swiattn.training.model;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;
import org.swiattn.training.Router;

/**
 * A small pre-norm decoder in fp64 with hand-written backward (Llama-like, tiny). The attention itself is any
 * {@link SwitchAttention} (the reference in the demo and the tests).
 *
 * <pre>
 *   x = tok_emb[tokens]                                               [N,C]
 *   for l in 0..L-1:
 *     xn = RMSNorm(x; attn_norm)                                      [N,C]
 *     q = rope(xn Wq)  [N,Hq*D]   k = rope(xn Wk)  [N,Hkv*D]   v = xn Wv  [N,Hkv*D]
 *     a = xn w_r + b_r  [N]                     (ROUTED mode; the router reads the same normalized input)
 *     o = SwitchAttention(q, k, v; route, w, estimator)               [N,Hq*D]
 *     x = x + o Wo
 *     x = x + silu(RMSNorm(x; mlp_norm) W1) W2
 *   logits = RMSNorm(x; final_norm) lm_head                           [N,V]
 * </pre>
 * Modes: FULL (every token on the full branch, route all-full), WINDOW (all-window), ROUTED (hybrid checkpoint,
 * {@code z = [a > 0]} with the given estimator). FULL and WINDOW use the HARD estimator.
 */
public final class Decoder {

    /** Which route the attention of every layer takes. */
    public enum Mode { FULL, WINDOW, ROUTED }

    /** Everything the backward needs from one forward pass (arrays are owned by the trace). */
    public static final class Trace {
        public final int batch;
        public final int seqLen;
        public final int[] tokens;          // [N]
        public final Mode mode;
        public final double[][] x;          // [L+1][N*C] residual stream entering layer l (x[L] = final)
        public final double[][] xn1;        // [L][N*C]
        public final double[][] rinv1;      // [L][N]
        public final AttentionInputs[] att; // [L] q, k (rotated), v, route
        public final double[][] o;          // [L][N*Hq*D]
        public final double[][] routerLogits; // [L][N] (ROUTED) or null rows
        public final double[][] x1;         // [L][N*C] after the attention residual
        public final double[][] xn2;        // [L][N*C]
        public final double[][] rinv2;      // [L][N]
        public final double[][] hPre;       // [L][N*F]
        public final double[][] hAct;       // [L][N*F]
        public double[] xf;                 // [N*C]
        public double[] rinvf;              // [N]
        public double[] logits;             // [N*V]

        Trace(int batch, int seqLen, int[] tokens, Mode mode, int layers) {
            this.batch = batch;
            this.seqLen = seqLen;
            this.tokens = tokens;
            this.mode = mode;
            x = new double[layers + 1][];
            xn1 = new double[layers][];
            rinv1 = new double[layers][];
            att = new AttentionInputs[layers];
            o = new double[layers][];
            routerLogits = new double[layers][];
            x1 = new double[layers][];
            xn2 = new double[layers][];
            rinv2 = new double[layers][];
            hPre = new double[layers][];
            hAct = new double[layers][];
        }

        /** The route of layer l. */
        public Route route(int l) {
            return att[l].route();
        }
    }

    private final SwitchAttention attention;

    public Decoder(SwitchAttention attention) {
        InvalidInputException.require(attention != null, "attention", "is null");
        this.attention = attention;
    }

    public SwitchAttention attention() {
        return attention;
    }

    /**
     * Forward pass.
     *
     * <pre>{@code  tokens [B,S] -> Trace (logits [N,V])  }</pre>
     *
     * @param ck        checkpoint; not modified
     * @param tokens    [B,S] token ids in [0, V); not modified (kept by the trace)
     * @param mode      FULL, WINDOW or ROUTED (ROUTED needs a hybrid checkpoint)
     * @param estimator the estimator of ROUTED mode (ignored otherwise)
     */
    public Trace forward(Checkpoint ck, int[] tokens, int batch, int seqLen, Mode mode, Estimator estimator) {
        ModelConfig cfg = ck.config();
        ParamLayout lay = ck.layout();
        double[] w = ck.weights();
        int n = batch * seqLen;
        int c = cfg.width();
        InvalidInputException.require(tokens != null && tokens.length == n, "tokens",
                "length must be B*S = " + n + ", got " + (tokens == null ? "null" : tokens.length));
        InvalidInputException.require(mode != Mode.ROUTED || cfg.hybrid(), "mode",
                "ROUTED needs a hybrid checkpoint (see Transfer.toHybrid)");
        Trace tr = new Trace(batch, seqLen, tokens.clone(), mode, cfg.layers());
        Shape shape = new Shape(batch, seqLen, cfg.qHeads(), cfg.kvHeads(), cfg.headDim());
        // pass 1: embedding lookup
        double[] x = new double[n * c];
        for (int r = 0; r < n; r++) {
            int t = tokens[r];
            InvalidInputException.require(t >= 0 && t < cfg.vocab(), "tokens",
                    "token " + t + " at index " + r + " is outside [0, V) = [0, " + cfg.vocab() + ")");
            System.arraycopy(w, lay.tokEmb() + t * c, x, r * c, c);
        }
        // pass 2: the layers
        for (int l = 0; l < cfg.layers(); l++) {
            ParamLayout.LayerOffsets lo = lay.layer(l);
            tr.x[l] = x;
            double[] rinv1 = new double[n];
            double[] xn = Ops.rmsNorm(x, n, c, w, lo.attnNorm(), cfg.normEps(), rinv1);
            double[] q = Ops.matmul(xn, n, c, w, lo.wq(), cfg.qWidth());
            double[] k = Ops.matmul(xn, n, c, w, lo.wk(), cfg.kvWidth());
            double[] v = Ops.matmul(xn, n, c, w, lo.wv(), cfg.kvWidth());
            Ops.rope(q, n, seqLen, cfg.qHeads(), cfg.headDim(), cfg.ropeBase(), false);
            Ops.rope(k, n, seqLen, cfg.kvHeads(), cfg.headDim(), cfg.ropeBase(), false);
            Route route;
            Estimator est = Estimator.HARD;
            switch (mode) {
                case FULL -> route = Route.allFull(batch, seqLen);
                case WINDOW -> route = Route.allWindow(batch, seqLen);
                default -> {
                    double[] wr = new double[c];
                    System.arraycopy(w, lo.routerW(), wr, 0, c);
                    double[] a = Router.logits(xn, n, c, wr, w[lo.routerB()]);
                    tr.routerLogits[l] = a;
                    route = Router.route(batch, seqLen, a);
                    est = estimator;
                }
            }
            AttentionInputs in = AttentionInputs.builder(shape).q(q).k(k).v(v).window(cfg.window()).route(route)
                    .estimator(est).build();
            ForwardResult fr = attention.forward(in);
            double[] x1 = x.clone();
            double[] proj = Ops.matmul(fr.o(), n, cfg.qWidth(), w, lo.wo(), c);
            for (int t = 0; t < x1.length; t++) {
                x1[t] += proj[t];
            }
            double[] rinv2 = new double[n];
            double[] xn2 = Ops.rmsNorm(x1, n, c, w, lo.mlpNorm(), cfg.normEps(), rinv2);
            double[] hPre = Ops.matmul(xn2, n, c, w, lo.w1(), cfg.mlpHidden());
            double[] hAct = Ops.silu(hPre);
            double[] mlp = Ops.matmul(hAct, n, cfg.mlpHidden(), w, lo.w2(), c);
            double[] x2 = x1.clone();
            for (int t = 0; t < x2.length; t++) {
                x2[t] += mlp[t];
            }
            tr.xn1[l] = xn;
            tr.rinv1[l] = rinv1;
            tr.att[l] = in;
            tr.o[l] = fr.o();
            tr.x1[l] = x1;
            tr.xn2[l] = xn2;
            tr.rinv2[l] = rinv2;
            tr.hPre[l] = hPre;
            tr.hAct[l] = hAct;
            x = x2;
        }
        // pass 3: final norm and LM head
        tr.x[cfg.layers()] = x;
        tr.rinvf = new double[n];
        tr.xf = Ops.rmsNorm(x, n, c, w, lay.finalNorm(), cfg.normEps(), tr.rinvf);
        tr.logits = Ops.matmul(tr.xf, n, c, w, lay.lmHead(), cfg.vocab());
        return tr;
    }

    /**
     * Backward pass: the gradient of a loss with respect to every parameter.
     *
     * <pre>{@code  dLogits [N,V], dRouterExtra [L][N] (or null) -> grad [P] (new)  }</pre>
     *
     * @param ck           the checkpoint of the forward; not modified
     * @param tr           the forward trace; not modified
     * @param dLogits      [N,V] dL/dlogits; not modified
     * @param dRouterExtra [L][N] extra dL/da of every layer's router logits (the regularizer's), or null; not
     *                     modified. It is added to the attention estimator's dL/da.
     */
    public double[] backward(Checkpoint ck, Trace tr, double[] dLogits, double[][] dRouterExtra) {
        ModelConfig cfg = ck.config();
        ParamLayout lay = ck.layout();
        double[] w = ck.weights();
        int n = tr.batch * tr.seqLen;
        int c = cfg.width();
        InvalidInputException.require(dLogits != null && dLogits.length == n * cfg.vocab(), "dLogits",
                "length must be N*V = " + n * cfg.vocab());
        double[] grad = new double[lay.size()];
        // forward: logits = xf lm_head
        double[] dxf = new double[n * c];
        Ops.matmulBackward(dLogits, tr.xf, n, c, w, lay.lmHead(), cfg.vocab(), dxf, grad);
        // forward: xf = RMSNorm(x_L; final_norm)
        double[] dx = new double[n * c];
        Ops.rmsNormBackward(dxf, tr.x[cfg.layers()], n, c, w, lay.finalNorm(), tr.rinvf, dx, grad);
        for (int l = cfg.layers() - 1; l >= 0; l--) {
            ParamLayout.LayerOffsets lo = lay.layer(l);
            // forward: x2 = x1 + silu(xn2 W1) W2   (dx is dL/dx2; the residual passes it to x1 unchanged)
            double[] dx1 = dx.clone();
            double[] dAct = new double[n * cfg.mlpHidden()];
            Ops.matmulBackward(dx, tr.hAct[l], n, cfg.mlpHidden(), w, lo.w2(), c, dAct, grad);
            double[] dPre = Ops.siluBackward(dAct, tr.hPre[l]);
            double[] dxn2 = new double[n * c];
            Ops.matmulBackward(dPre, tr.xn2[l], n, c, w, lo.w1(), cfg.mlpHidden(), dxn2, grad);
            // forward: xn2 = RMSNorm(x1; mlp_norm)
            Ops.rmsNormBackward(dxn2, tr.x1[l], n, c, w, lo.mlpNorm(), tr.rinv2[l], dx1, grad);
            // forward: x1 = x + o Wo
            double[] dxl = dx1.clone();
            double[] dO = new double[n * cfg.qWidth()];
            Ops.matmulBackward(dx1, tr.o[l], n, cfg.qWidth(), w, lo.wo(), c, dO, grad);
            // forward: o = SwitchAttention(q, k, v; route)
            BackwardResult br = attention.backward(tr.att[l], dO);
            double[] dq = br.dq();
            double[] dk = br.dk();
            // forward: q = rope(xn Wq), k = rope(xn Wk)  (the rotation is orthogonal: backward rotates back)
            dq = dq.clone();
            dk = dk.clone();
            Ops.rope(dq, n, tr.seqLen, cfg.qHeads(), cfg.headDim(), cfg.ropeBase(), true);
            Ops.rope(dk, n, tr.seqLen, cfg.kvHeads(), cfg.headDim(), cfg.ropeBase(), true);
            double[] dxn = new double[n * c];
            Ops.matmulBackward(dq, tr.xn1[l], n, c, w, lo.wq(), cfg.qWidth(), dxn, grad);
            Ops.matmulBackward(dk, tr.xn1[l], n, c, w, lo.wk(), cfg.kvWidth(), dxn, grad);
            Ops.matmulBackward(br.dv(), tr.xn1[l], n, c, w, lo.wv(), cfg.kvWidth(), dxn, grad);
            // forward: a = xn w_r + b_r
            if (tr.mode == Mode.ROUTED) {
                double[] da = br.dRouterLogit().clone();
                if (dRouterExtra != null) {
                    for (int r = 0; r < n; r++) {
                        da[r] += dRouterExtra[l][r];
                    }
                }
                double[] wr = new double[c];
                System.arraycopy(w, lo.routerW(), wr, 0, c);
                double[] dwr = new double[c];
                double[] dbr = new double[1];
                Router.backward(da, tr.xn1[l], n, c, wr, dxn, dwr, dbr);
                for (int j = 0; j < c; j++) {
                    grad[lo.routerW() + j] += dwr[j];
                }
                grad[lo.routerB()] += dbr[0];
            }
            // forward: xn = RMSNorm(x; attn_norm)
            Ops.rmsNormBackward(dxn, tr.x[l], n, c, w, lo.attnNorm(), tr.rinv1[l], dxl, grad);
            dx = dxl;
        }
        // forward: x = tok_emb[tokens]
        for (int r = 0; r < n; r++) {
            int off = lay.tokEmb() + tr.tokens[r] * c;
            for (int j = 0; j < c; j++) {
                grad[off + j] += dx[r * c + j];
            }
        }
        return grad;
    }
}
