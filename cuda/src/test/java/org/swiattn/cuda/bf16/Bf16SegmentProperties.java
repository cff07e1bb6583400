package org.swiattn.cuda.bf16;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.SegmentProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's spec 2.0 segment properties on the bf16 implementation (segment tables on its mma.sync forward and
 * tensor-core backward, the default; {@link Bf16SimtSegmentProperties}: the SIMT backward), at the spec's tolerance;
 * cases with {@code D > 128} are skipped
 * ({@link Bf16UnderTest#supports}). Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(Bf16UnderTest.class)
class Bf16SegmentProperties extends SegmentProperties {
}
