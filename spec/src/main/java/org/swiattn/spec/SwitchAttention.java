package org.swiattn.spec;

/**
 * One implementation of routed (Switch) attention. The reference, the CUDA kernels and any adapter a user writes
 * implement this interface; the property suite and the golden tools run against it.
 *
 * <p>Implementations must reject bad input by building {@link AttentionInputs} (which validates) and by calling
 * {@link AttentionInputs#checkOutputGradient} and {@link AttentionInputs#checkRows} on the remaining arguments.
 */
public interface SwitchAttention {

    /** A short name for reports, e.g. {@code "reference-fp64"}. */
    String name();

    /** The arithmetic this implementation computes in. */
    Precision precision();

    /**
     * Whether this implementation computes every {@link Segments} table (spec 2.0: chunked prefill, decode, packed
     * batches). One that answers false computes self-attention prefill only and rejects other inputs with
     * {@link AttentionInputs#requireSelfAttention}; the property suite runs the spec 2.0 properties only where this
     * answers true.
     */
    default boolean supportsSegments() {
        return false;
    }

    /**
     * Forward pass: O [B,S,Hq,D] and LSE [B,S,Hq].
     *
     * @param in validated inputs; not modified
     */
    ForwardResult forward(AttentionInputs in);

    /**
     * Backward pass for the inputs' estimator.
     *
     * @param in   validated inputs; not modified
     * @param dOut dL/dO [B,S,Hq,D]; not modified
     */
    BackwardResult backward(AttentionInputs in, double[] dOut);

    /**
     * Forward pass for chosen query rows only. The default computes everything and extracts; implementations that
     * can (the reference) answer without computing the other rows.
     *
     * @param in   validated inputs; not modified
     * @param rows [R] flat row indices r = b*S + i; not modified
     */
    default RowsResult forwardRows(AttentionInputs in, int[] rows) {
        in.checkRows(rows);
        return RowsResult.extract(forward(in), rows);
    }
}
