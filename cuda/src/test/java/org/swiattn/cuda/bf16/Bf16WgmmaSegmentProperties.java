package org.swiattn.cuda.bf16;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.HopperPresent;
import org.swiattn.properties.SegmentProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's spec 2.0 segment properties on the bf16 implementation with the wgmma backward (its {@code _seg}
 * kernels over segment tables; {@link Bf16SegmentProperties} runs the default backward), at the spec's tolerance;
 * cases with {@code D > 128} are skipped. Skips with one line without a compute capability 9.0 GPU.
 */
@AddLifecycleHook(HopperPresent.class)
@UnderTest(Bf16WgmmaUnderTest.class)
class Bf16WgmmaSegmentProperties extends SegmentProperties {
}
