package org.swiattn.cuda.bf16;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.cuda.DecodePlan;
import org.swiattn.properties.SegmentValidationProperties;
import org.swiattn.spec.Shape;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.SwitchAttention;

/**
 * The suite's spec 2.0 validation properties on the bf16 tensor-core implementation (segment inputs refused
 * while it answers supportsSegments() false); cases with {@code D > 128} are skipped
 * ({@link Bf16UnderTest#supports}). Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
class Bf16SegmentValidationProperties extends SegmentValidationProperties {
    @Override
    protected SwitchAttention implementation() {
        return Bf16UnderTest.get();
    }

    @Override
    protected boolean supports(Shape shape, int window) {
        return Bf16UnderTest.supports(shape);
    }

    /** The decode forward (Sq = 1 against a KV cache) runs on the GPU; other tables are refused. */
    @Override
    protected boolean computesForward(AttentionInputs in) {
        return super.computesForward(in) || DecodePlan.isDecode(in);
    }
}
