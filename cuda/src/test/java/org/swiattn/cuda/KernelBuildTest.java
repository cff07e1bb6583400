package org.swiattn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.swiattn.cuda.bf16.Bf16Attention;
import org.swiattn.cuda.bf16.Bf16Kernels;
import org.swiattn.cuda.driver.CudaUnavailableException;
import org.swiattn.cuda.driver.KernelModule;

/**
 * The build packaged every kernel file as a fatbin (when nvcc was present at build time). No GPU needed: checks
 * the fatbin container's magic number, and that every bf16 kernel the Java side names (each forward variant with its
 * {@code _seg} form and {@code _cfg} export, each tensor-core backward version's dK/dV and dQ kernels) is in its
 * module, so that a variant added on one side only fails here rather than on the GPU.
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
    void everyBf16KernelTheJavaSideNamesIsInItsModule() {
        assumeTrue(KernelModule.isPackaged(Bf16Kernels.FORWARD_MODULE),
                "kernels not compiled (nvcc absent at build time): nothing packaged to check");
        String fwd = new String(KernelModule.readResource(Bf16Kernels.FORWARD_MODULE), StandardCharsets.ISO_8859_1);
        List<String> names = new ArrayList<>();
        for (Bf16Attention.Variant v : Bf16Attention.VARIANTS) {
            names.add(v.kernel());
            names.add(v.kernel() + "_seg");
            names.add(v.kernel() + "_cfg");
        }
        for (String n : names) {
            assertThat(fwd.contains(n + '\0')).as("forward module holds %s", n).isTrue();
        }
        String bwd = new String(KernelModule.readResource(Bf16Kernels.BACKWARD_MODULE), StandardCharsets.ISO_8859_1);
        int backward = 0;
        for (Bf16Kernels.BackwardVersion ver : Bf16Kernels.BackwardVersion.values()) {
            if (!ver.tensorCores()) {
                continue;
            }
            for (String k : new String[] {"dkdv", "dq"}) {
                for (int d : new int[] {64, 128}) {
                    for (String form : new String[] {"", "_seg"}) {
                        String n = "swi_bwd_" + k + "_" + ver.tag() + "_bf16_d" + d + form;
                        assertThat(bwd.contains(n + '\0')).as("backward module holds %s", n).isTrue();
                        backward++;
                    }
                }
            }
        }
        assertThat(names).hasSize(3 * Bf16Attention.VARIANTS.size());
        assertThat(backward).isEqualTo(16);
    }

    @Test
    void missingFatbinIsAClearError() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> KernelModule.readResource("no_such_kernels"))
                .isInstanceOf(CudaUnavailableException.class).hasMessageContaining("no_such_kernels.fatbin")
                .hasMessageContaining("nvcc");
    }
}
