package org.swiattn.cuda.bf16;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.SegmentProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's spec 2.0 segment properties on the bf16 implementation with the pipelined tensor-core backward
 * (segment tables on the mma.sync forward and the {@code _mma2} {@code _seg} backward kernels;
 * {@link Bf16SegmentProperties} runs the default MMA backward), at the spec's tolerance; cases with {@code D > 128}
 * are skipped. Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(Bf16PipeUnderTest.class)
class Bf16PipeSegmentProperties extends SegmentProperties {
}
