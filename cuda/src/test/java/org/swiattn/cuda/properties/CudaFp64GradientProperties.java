package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.GradientProperties;
import org.swiattn.spec.SwitchAttention;
import org.swiattn.reference.ScoreMagnitude;
import org.swiattn.spec.AttentionInputs;

/** The suite's gradient properties on CUDA FP64, at the CUDA issue's fp64 bound 1e-13 * max(1, M) (10x tighter than the spec's). */
@AddLifecycleHook(CudaPresent.class)
class CudaFp64GradientProperties extends GradientProperties {
    @Override
    protected SwitchAttention implementation() {
        return CudaUnderTest.fp64();
    }

    /** The CUDA issue requires fp64 within 1e-13 (times the softmax condition max(1, M)) of the reference. */
    @Override
    protected ForwardBounds forwardBounds(AttentionInputs in) {
        double b = 1e-13 * Math.max(1, ScoreMagnitude.max(in));
        return new ForwardBounds(b, b);
    }

    @Override
    protected BackwardBounds backwardBounds(AttentionInputs in, double[] dOut) {
        double b = 1e-13 * Math.max(1, ScoreMagnitude.max(in));
        return new BackwardBounds(b, b, b, b);
    }
}
