package org.swiattn.cuda.bf16;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.ConformanceProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's conformance properties on the bf16 tensor-core implementation, judged by the BF16 tolerance (2 x the
 * naive bf16 error + 1e-3, via the suite's bounds for {@code Precision.BF16}); cases with {@code D > 128} are skipped
 * ({@link Bf16UnderTest#supports}). Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(Bf16UnderTest.class)
class Bf16ConformanceProperties extends ConformanceProperties {
}
