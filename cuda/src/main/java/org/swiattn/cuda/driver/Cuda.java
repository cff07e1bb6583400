package org.swiattn.cuda.driver;

import static jcuda.driver.CUresult.CUDA_ERROR_OUT_OF_MEMORY;
import static jcuda.driver.CUresult.CUDA_SUCCESS;

/** Static helpers: availability probe and result checking for every driver call. */
public final class Cuda {
    private static String unavailableReason;
    private static boolean probed;

    private Cuda() {
    }

    /**
     * Throws {@link CudaException} (or {@link CudaOutOfMemoryException}) naming the call unless result is success.
     *
     * @param result the CUresult of the call
     * @param call   the call, e.g. {@code "cuMemcpyHtoD(q)"}
     */
    public static void check(int result, String call) {
        if (result != CUDA_SUCCESS) {
            if (result == CUDA_ERROR_OUT_OF_MEMORY) {
                throw new CudaOutOfMemoryException(call, result, 0, "out of device memory");
            }
            throw new CudaException(call, result, null);
        }
    }

    /** Whether a CUDA driver and at least one device are present (never throws). */
    public static boolean isAvailable() {
        return unavailableReason() == null;
    }

    /** Why CUDA cannot be used here, or null if it can. Probed once. */
    public static synchronized String unavailableReason() {
        if (!probed) {
            probed = true;
            unavailableReason = probe();
        }
        return unavailableReason;
    }

    private static String probe() {
        try {
            jcuda.driver.JCudaDriver.setExceptionsEnabled(false);
            int r = jcuda.driver.JCudaDriver.cuInit(0);
            if (r != CUDA_SUCCESS) {
                return "cuInit failed: " + CudaException.errorName(r);
            }
            int[] n = {0};
            r = jcuda.driver.JCudaDriver.cuDeviceGetCount(n);
            if (r != CUDA_SUCCESS) {
                return "cuDeviceGetCount failed: " + CudaException.errorName(r);
            }
            if (n[0] == 0) {
                return "no CUDA device";
            }
            return null;
        } catch (Throwable t) {
            String m = String.valueOf(t.getMessage());
            // JCuda's message nests every attempt; the one naming a missing .so is the useful one
            String last = m.lines().filter(l -> l.contains("cannot open shared object")).reduce((a, b) -> b)
                    .orElse(m.lines().findFirst().orElse(m)).trim();
            return "CUDA driver not loadable (" + t.getClass().getSimpleName() + ": " + last + ")";
        }
    }

    /** Human-readable byte count, e.g. "1.50 GiB". */
    public static String bytes(long n) {
        if (n >= 1L << 30) {
            return String.format("%.2f GiB", n / (double) (1L << 30));
        }
        if (n >= 1L << 20) {
            return String.format("%.2f MiB", n / (double) (1L << 20));
        }
        return n + " B";
    }
}
