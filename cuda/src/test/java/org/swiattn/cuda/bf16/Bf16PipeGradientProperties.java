package org.swiattn.cuda.bf16;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.GradientProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's gradient properties on the bf16 implementation with the pipelined tensor-core backward
 * ({@link Bf16Kernels.BackwardVersion#MMA_PIPE}; {@link Bf16GradientProperties} runs the default MMA), judged by the
 * BF16 tolerance; cases with {@code D > 128} are skipped. Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(Bf16PipeUnderTest.class)
class Bf16PipeGradientProperties extends GradientProperties {
}
