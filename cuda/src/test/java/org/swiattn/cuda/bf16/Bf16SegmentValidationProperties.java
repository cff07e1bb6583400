package org.swiattn.cuda.bf16;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.SegmentValidationProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's spec 2.0 validation properties on the bf16 implementation (segment inputs computed: it answers
 * supportsSegments() true); cases with {@code D > 128} are skipped
 * ({@link Bf16UnderTest#supports}). Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(Bf16UnderTest.class)
class Bf16SegmentValidationProperties extends SegmentValidationProperties {
}
