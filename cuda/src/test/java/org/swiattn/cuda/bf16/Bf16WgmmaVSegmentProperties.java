package org.swiattn.cuda.bf16;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.SegmentProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's spec 2.0 segment properties on the bf16 implementation whose forward is version 3 (wgmma reading V,
 * kernels {@code <variant>_seg} for the tables; {@link Bf16SegmentProperties} runs the default, whose tables take
 * the mma.sync forward), at the spec's tolerance; {@code D > 128} skipped. Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(Bf16WgmmaVUnderTest.class)
class Bf16WgmmaVSegmentProperties extends SegmentProperties {
}
