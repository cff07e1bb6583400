package org.swiattn.cli;

import org.swiattn.cuda.RoutedKernels;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.spec.Shape;

/**
 * The device tensors of a timed backward (and the forward before it), in the kernels' precision, with q, k, v, dO
 * filled with N(0,1) from seeds seed+10 .. seed+13:
 * <pre>{@code
 *   q, dO, o, dQ [B*Sq,Hq,D]    k, v, dK, dV [B*Sk,Hkv,D]    lse, delta [B*Sq,Hq]
 * }</pre>
 */
record BenchBuffers(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer dO, DeviceBuffer o, DeviceBuffer lse,
                    DeviceBuffer delta, DeviceBuffer dQ, DeviceBuffer dK, DeviceBuffer dV) implements AutoCloseable {

    static BenchBuffers filled(RoutedKernels rk, Shape sh, long seed) {
        BenchBuffers b = new BenchBuffers(rk.allocate(sh.qSize(), "q"), rk.allocate(sh.kvSize(), "k"),
                rk.allocate(sh.kvSize(), "v"), rk.allocate(sh.qSize(), "dO"), rk.allocate(sh.qSize(), "o"),
                rk.allocate(sh.lseSize(), "lse"), rk.allocate(sh.lseSize(), "delta"), rk.allocate(sh.qSize(), "dQ"),
                rk.allocate(sh.kvSize(), "dK"), rk.allocate(sh.kvSize(), "dV"));
        rk.fillNormal(b.q, sh.qSize(), seed + 10, 1.0);
        rk.fillNormal(b.k, sh.kvSize(), seed + 11, 1.0);
        rk.fillNormal(b.v, sh.kvSize(), seed + 12, 1.0);
        rk.fillNormal(b.dO, sh.qSize(), seed + 13, 1.0);
        return b;
    }

    @Override
    public void close() {
        for (DeviceBuffer x : new DeviceBuffer[] {q, k, v, dO, o, lse, delta, dQ, dK, dV}) {
            x.close();
        }
    }
}
