package org.swiattn.cuda.bf16;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.HopperPresent;
import org.swiattn.properties.GradientProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's gradient properties on the bf16 implementation with the wgmma backward
 * ({@link Bf16Kernels.BackwardVersion#WGMMA}), judged by the BF16 tolerance as {@link Bf16GradientProperties}; cases
 * with {@code D > 128} are skipped. Skips with one line without a compute capability 9.0 GPU.
 */
@AddLifecycleHook(HopperPresent.class)
@UnderTest(Bf16WgmmaUnderTest.class)
class Bf16WgmmaGradientProperties extends GradientProperties {
}
