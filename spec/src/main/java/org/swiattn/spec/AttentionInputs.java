package org.swiattn.spec;

/**
 * Everything one routed-attention call reads, validated once for every implementation.
 *
 * <pre>{@code
 *   q     [B,Sq,Hq,D]   queries                      k, v  [B,Sk,Hkv,D]  keys and values
 *   segments             which key rows each query row sees (default: self-attention, Sq = Sk)
 *   window w >= 1        window of the local branch   scale finite, > 0 (default 1/sqrt(D))
 *   route  [B,Sq]        hard decisions z (and optionally router logits a), one per query row
 *   estimator            how the router gets gradients (HARD needs no logits)
 * }</pre>
 * Arrays are <b>not copied</b> (32K cases hold gigabytes): they are not modified by any implementation, and the
 * caller must not modify them while the inputs are in use. Full causal attention is the all-full route, sliding
 * window attention the all-window route. K and V are checked finite only on key rows that some segment holds:
 * other rows (cache slots beyond a sequence's length) are never read.
 */
public final class AttentionInputs {
    private final Shape shape;
    private final double[] q;
    private final double[] k;
    private final double[] v;
    private final int window;
    private final double scale;
    private final Route route;
    private final Estimator estimator;
    private final Segments segments;

    private AttentionInputs(Builder b) {
        this.shape = b.shape;
        this.q = b.q;
        this.k = b.k;
        this.v = b.v;
        this.window = b.window;
        this.scale = b.scale;
        this.route = b.route;
        this.estimator = b.estimator;
        this.segments = b.segments;
    }

    /** Starts a builder; scale defaults to 1/sqrt(D), estimator to HARD, route must be given. */
    public static Builder builder(Shape shape) {
        InvalidInputException.require(shape != null, "shape", "is null");
        return new Builder(shape);
    }

    public Shape shape() {
        return shape;
    }

    /** [B,S,Hq,D], not a copy: do not modify. */
    public double[] q() {
        return q;
    }

    /** [B,S,Hkv,D], not a copy: do not modify. */
    public double[] k() {
        return k;
    }

    /** [B,S,Hkv,D], not a copy: do not modify. */
    public double[] v() {
        return v;
    }

    public int window() {
        return window;
    }

    public double scale() {
        return scale;
    }

    public Route route() {
        return route;
    }

    public Estimator estimator() {
        return estimator;
    }

    /** Which key rows each query row sees; never null ({@link Segments#selfAttention} unless given). */
    public Segments segments() {
        return segments;
    }

    /**
     * For implementations that cover spec 1.x self-attention prefill only ({@link SwitchAttention#supportsSegments}
     * false): throws unless these inputs are that case.
     *
     * @param implementation the implementation's name, for the message
     */
    public void requireSelfAttention(String implementation) {
        if (!segments.isSelfAttention()) {
            throw new UnsupportedOperationException(implementation + " computes self-attention prefill only (Sq = Sk,"
                    + " one segment per batch row); these inputs have " + shape + " and " + segments);
        }
    }

    /** A copy of these inputs with another route (re-validated). */
    public AttentionInputs withRoute(Route newRoute) {
        return toBuilder().route(newRoute).build();
    }

    /** A copy of these inputs with another estimator (re-validated). */
    public AttentionInputs withEstimator(Estimator newEstimator) {
        return toBuilder().estimator(newEstimator).build();
    }

    /** A builder preset with these inputs. */
    public Builder toBuilder() {
        return builder(shape).q(q).k(k).v(v).window(window).scale(scale).route(route).estimator(estimator)
                .segments(segments);
    }

    /**
     * Validates an output gradient dO [B,S,Hq,D] for these inputs.
     *
     * @param dOut [B,S,Hq,D]; not modified
     */
    public void checkOutputGradient(double[] dOut) {
        checkTensor("dOut", dOut, shape.qSize(), shape.qHeads(), "[B,S,Hq,D]");
    }

    /**
     * Validates a row selection for row-subset evaluation: every flat query row r = b*Sq + i in [0, B*Sq).
     *
     * @param rows [R] flat row indices; not modified
     */
    public void checkRows(int[] rows) {
        InvalidInputException.require(rows != null, "rows", "is null");
        for (int n = 0; n < rows.length; n++) {
            int r = rows[n];
            if (r < 0 || r >= shape.rows()) {   // the message is built only for a bad row: this runs per row
                throw new InvalidInputException("rows",
                        "rows[" + n + "] = " + r + " is outside [0, B*Sq) = [0, " + shape.rows() + ")");
            }
        }
    }

    private void checkTensor(String name, double[] x, int size, int heads, String layout) {
        checkLength(name, x, size, layout);
        checkFinite(name, x, 0, x.length, heads, shape.seqLen());
    }

    /** K or V: the length of [B,Sk,Hkv,D], and finite values on the key rows some segment holds. */
    private void checkKeys(String name, double[] x) {
        checkLength(name, x, shape.kvSize(), "B*Sk*Hkv*D");
        int rowSize = shape.kvHeads() * shape.headDim();
        for (int s = 0; s < segments.count(); s++) {
            checkFinite(name, x, segments.kStart(s) * rowSize, (segments.kStart(s) + segments.kLen(s)) * rowSize,
                    shape.kvHeads(), shape.kvSeqLen());
        }
    }

    private void checkLength(String name, double[] x, int size, String layout) {
        InvalidInputException.require(x != null, name, "is null");
        InvalidInputException.require(x.length == size, name,
                "length must be " + layout + " = " + size + " for " + shape + ", got " + x.length);
    }

    /** Every x[from .. to) finite; the message names the flat index and (b, row, head, d) for rows of seqLen. */
    private void checkFinite(String name, double[] x, int from, int to, int heads, int seqLen) {
        int d = shape.headDim();
        for (int n = from; n < to; n++) {
            if (!Double.isFinite(x[n])) {
                int dd = n % d;
                int h = (n / d) % heads;
                int i = (n / d / heads) % seqLen;
                int b = n / d / heads / seqLen;
                throw new InvalidInputException(name, "non-finite value " + x[n] + " at index " + n
                        + " (b=" + b + ", i=" + i + ", h=" + h + ", d=" + dd + ")");
            }
        }
    }

    @Override
    public String toString() {
        return "AttentionInputs[" + shape + ", w=" + window + ", scale=" + scale + ", " + route + ", "
                + estimator + (segments.isSelfAttention() ? "" : ", " + segments) + "]";
    }

    /** Builder; {@link #build()} validates every argument and names the first bad one. */
    public static final class Builder {
        private final Shape shape;
        private double[] q;
        private double[] k;
        private double[] v;
        private int window = -1;
        private boolean windowSet;
        private double scale;
        private Route route;
        private Estimator estimator = Estimator.HARD;
        private Segments segments;

        private Builder(Shape shape) {
            this.shape = shape;
            this.scale = shape.defaultScale();
        }

        /** @param q [B,Sq,Hq,D]; not copied, not modified */
        public Builder q(double[] q) {
            this.q = q;
            return this;
        }

        /** @param k [B,Sk,Hkv,D]; not copied, not modified */
        public Builder k(double[] k) {
            this.k = k;
            return this;
        }

        /** @param v [B,Sk,Hkv,D]; not copied, not modified */
        public Builder v(double[] v) {
            this.v = v;
            return this;
        }

        /** @param window w {@code >= 1}; w at least the longest segment makes the window branch the full branch */
        public Builder window(int window) {
            this.window = window;
            this.windowSet = true;
            return this;
        }

        /** @param scale finite and {@code > 0}; default 1/sqrt(D) */
        public Builder scale(double scale) {
            this.scale = scale;
            return this;
        }

        public Builder route(Route route) {
            this.route = route;
            return this;
        }

        public Builder estimator(Estimator estimator) {
            this.estimator = estimator;
            return this;
        }

        /**
         * @param segments which key rows each query row sees, built for this shape ({@link Segments#kvCache},
         *                 {@link Segments#packed}, ...); null (the default) means self-attention, which needs Sq = Sk
         */
        public Builder segments(Segments segments) {
            this.segments = segments;
            return this;
        }

        /** Validates and builds; throws {@link InvalidInputException} naming the first bad argument. */
        public AttentionInputs build() {
            if (segments == null) {
                InvalidInputException.require(shape.squareRows(), "segments", "not given, and Sq=" + shape.seqLen()
                        + " differs from Sk=" + shape.kvSeqLen() + ": say how queries align to keys with "
                        + "Segments.bottomRight (chunked prefill), Segments.kvCache (decode) or Segments.packed");
                segments = Segments.selfAttention(shape);
            }
            InvalidInputException.require(segments.queryRows() == shape.rows()
                            && segments.keyRows() == shape.kvRows(), "segments",
                    "cover " + segments.queryRows() + " query rows and " + segments.keyRows() + " key rows, but "
                            + shape + " has B*Sq = " + shape.rows() + " and B*Sk = " + shape.kvRows());
            AttentionInputs in = new AttentionInputs(this);
            InvalidInputException.require(windowSet, "window", "was not given (w >= 1 is required)");
            InvalidInputException.require(window >= 1, "window", "must be >= 1, got " + window);
            InvalidInputException.require(Double.isFinite(scale) && scale > 0, "scale",
                    "must be finite and > 0, got " + scale);
            InvalidInputException.require(estimator != null, "estimator", "is null");
            InvalidInputException.require(route != null, "route", "is null");
            InvalidInputException.require(route.batch() == shape.batch() && route.seqLen() == shape.seqLen(),
                    "route", "is for B=" + route.batch() + ", S=" + route.seqLen() + " but the shape has B="
                            + shape.batch() + ", S=" + shape.seqLen());
            InvalidInputException.require(!estimator.needsLogits() || route.hasLogits(), "route",
                    "estimator " + estimator + " needs router logits; build the route with Route.ofLogits");
            in.checkTensor("q", q, shape.qSize(), shape.qHeads(), "B*Sq*Hq*D");
            in.checkKeys("k", k);
            in.checkKeys("v", v);
            return in;
        }
    }
}
