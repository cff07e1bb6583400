package org.swiattn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import org.swiattn.cuda.bf16.Bf16Kernels;
import org.swiattn.cuda.driver.CudaUnavailableException;
import org.swiattn.cuda.driver.KernelModule;

/**
 * The build packaged every kernel file as a fatbin (when nvcc was present at build time). No GPU needed: checks
 * the fatbin container's magic number and that the kernels the host plan names appear in it.
 */
class KernelBuildTest {
    /** Magic number of a CUDA fatbin container (fatbinary.h, FATBIN_MAGIC), little-endian at offset 0. */
    private static final int FATBIN_MAGIC = 0xBA55ED50;

    @Test
    void everyKernelFileIsAPackagedFatbin() {
        assumeTrue(KernelModule.isPackaged(KernelPlan.FORWARD_MODULE),
                "kernels not compiled (nvcc absent at build time): nothing packaged to check");
        int checked = 0;
        for (String m : new String[] {KernelPlan.FORWARD_MODULE, KernelPlan.BACKWARD_MODULE,
            KernelPlan.BACKWARD_TC_MODULE, KernelPlan.UTIL_MODULE, RouteCompaction.MODULE, Bf16Kernels.FORWARD_MODULE,
            Bf16Kernels.BACKWARD_MODULE, DecodeKernels.MODULE, DecodeKernels.BF16_MODULE}) {
            byte[] fb = KernelModule.readResource(m);
            assertThat(fb.length).as(m).isGreaterThan(1000);
            assertThat(ByteBuffer.wrap(fb).order(ByteOrder.LITTLE_ENDIAN).getInt(0)).as(m).isEqualTo(FATBIN_MAGIC);
            checked++;
        }
        assertThat(checked).isEqualTo(9);
    }

    @Test
    void missingFatbinIsAClearError() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> KernelModule.readResource("no_such_kernels"))
                .isInstanceOf(CudaUnavailableException.class).hasMessageContaining("no_such_kernels.fatbin")
                .hasMessageContaining("nvcc");
    }
}
