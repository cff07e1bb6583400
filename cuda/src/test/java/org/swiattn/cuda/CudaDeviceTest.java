package org.swiattn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.CudaException;
import org.swiattn.cuda.driver.CudaOutOfMemoryException;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.cuda.driver.Kernel;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;

/** The harness on a GPU: compaction kernel vs host, kernel configurations vs the host plan, errors. */
@ExtendWith(CudaPresent.class)
class CudaDeviceTest {

    @Test
    void gpuCompactionEqualsHostCompaction() {
        CudaDevice dev = CudaDevice.get();
        SplittableRandom rnd = new SplittableRandom(5);
        int checked = 0;
        for (int[] bs : new int[][] {{1, 1}, {1, 1023}, {1, 1024}, {2, 1025}, {3, 5000}, {1, 32768}, {4, 33000}}) {
            for (double rho : new double[] {0, 0.25, 1}) {
                Route route = RouteCompactionTest.randomRoute(rnd, bs[0], bs[1], rho);
                RouteCompaction.HostLists h = RouteCompaction.onHost(route);
                try (DeviceBuffer z = DeviceBuffer.of(dev, RouteCompaction.maskBytes(route), "z");
                     RouteCompaction.DeviceLists d = RouteCompaction.onDevice(dev, z, bs[0], bs[1])) {
                    dev.synchronize();
                    int[] nF = d.nF().toInts(bs[0]);
                    int[] nW = d.nW().toInts(bs[0]);
                    int[] lf = d.listF().toInts(bs[0] * bs[1]);
                    int[] lw = d.listW().toInts(bs[0] * bs[1]);
                    assertThat(nF).containsExactly(h.nF());
                    assertThat(nW).containsExactly(h.nW());
                    for (int b = 0; b < bs[0]; b++) {
                        for (int n = 0; n < nF[b]; n++) {
                            assertThat(lf[b * bs[1] + n]).isEqualTo(h.listF()[b * bs[1] + n]);
                        }
                        for (int n = 0; n < nW[b]; n++) {
                            assertThat(lw[b * bs[1] + n]).isEqualTo(h.listW()[b * bs[1] + n]);
                        }
                    }
                    checked++;
                }
            }
        }
        assertThat(checked).isEqualTo(21);
    }

    @Test
    void kernelConfigurationsEqualTheHostPlan() {
        CudaDevice dev = CudaDevice.get();
        int checked = 0;
        for (int dm : KernelPlan.DMAX) {
            for (Precision p : new Precision[] {Precision.FP64, Precision.FP32}) {
                String s = KernelPlan.suffix(p);
                assertThat(dev.module(KernelPlan.FORWARD_MODULE).intConstants("swi_fwd_v2_" + s + "_d" + dm + "_cfg", 4))
                        .as("fwd v2 %s %d", s, dm).containsExactly(KernelPlan.forwardV2(p, dm).toArray());
                assertThat(dev.module(KernelPlan.BACKWARD_MODULE).intConstants("swi_bwd_v2_" + s + "_d" + dm + "_cfg", 4))
                        .as("bwd v2 %s %d", s, dm).containsExactly(KernelPlan.backwardV2(p, dm).toArray());
                checked += 2;
            }
            if (KernelPlan.hasTensorCoreKernels(dm)) {
                assertThat(dev.module(KernelPlan.FORWARD_MODULE).intConstants("swi_fwd_v9_f64_d" + dm + "_cfg", 4))
                        .as("fwd v9 d%d", dm).containsExactly(KernelPlan.forwardV9(dm).toArray());
                checked++;
                for (Precision p : new Precision[] {Precision.FP64, Precision.FP32}) {
                    for (KernelPlan.Choice c : KernelPlan.backward(p, dm, KernelPlan.Version.V11)) {
                        assertThat(dev.module(c.module()).intConstants(c.name() + "_cfg", 4))
                                .as("%s", c.name()).containsExactly(c.config().toArray());
                        checked++;
                    }
                }
            }
        }
        // 5 DMAX x 2 precisions x (fwd v2, bwd v2) + 4 tensor-core sizes x (fwd v9, 2 precisions x bwd v11 dK/dV,
        // dQ)
        assertThat(checked).isEqualTo(40);
    }

    @Test
    void outOfMemoryIsAClearError() {
        CudaDevice dev = CudaDevice.get();
        assertThatThrownBy(() -> DeviceBuffer.allocate(dev, 1L << 50, "huge"))
                .isInstanceOf(CudaOutOfMemoryException.class)
                .hasMessageContaining("huge").hasMessageContaining("1048576.00 GiB").hasMessageContaining("free");
        try (DeviceBuffer ok = DeviceBuffer.allocate(dev, 1024, "after")) {
            assertThat(ok.bytes()).isEqualTo(1024);  // the device is still usable
        }
    }

    @Test
    void launchErrorsNameTheKernelAndTheCudaError() {
        CudaDevice dev = CudaDevice.get();
        Kernel k = dev.module(RouteCompaction.MODULE).kernel("swi_identity_lists");
        assertThatThrownBy(() -> k.launch(new int[] {1, 1, 1}, 4096, 0, null, null, 1, 1))
                .isInstanceOf(CudaException.class).hasMessageContaining("swi_identity_lists")
                .hasMessageContaining("CUDA_ERROR_INVALID_VALUE");
        assertThatThrownBy(() -> dev.module(RouteCompaction.MODULE).kernel("no_such_kernel"))
                .isInstanceOf(CudaException.class).hasMessageContaining("no_such_kernel")
                .hasMessageContaining("CUDA_ERROR_NOT_FOUND");
    }

    @Test
    void closedBuffersRefuseUse() {
        CudaDevice dev = CudaDevice.get();
        DeviceBuffer b = DeviceBuffer.of(dev, new double[] {1, 2, 3}, "x");
        assertThat(b.toDoubles(3)).containsExactly(1, 2, 3);
        b.close();
        b.close();  // idempotent
        assertThatThrownBy(() -> b.toDoubles(3)).isInstanceOf(IllegalStateException.class).hasMessageContaining("'x'");
    }
}
