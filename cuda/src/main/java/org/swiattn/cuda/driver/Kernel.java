package org.swiattn.cuda.driver;

import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;

/**
 * One kernel of a {@link KernelModule}, launched with {@link #launch}. Arguments are passed in the order of the CUDA
 * signature; each is a {@link DeviceBuffer} (its address), {@code null} (a null device pointer), an
 * {@link Integer} (int), {@link Long} (long long), {@link Double} (double), {@link Float} (float) or a
 * {@link CUdeviceptr}. Launch failures raise {@link CudaException} naming the kernel.
 */
public final class Kernel {
    private final CudaDevice device;
    private final String name;
    private final CUfunction function;
    private int sharedLimitSet;

    Kernel(CudaDevice device, String name, CUfunction function) {
        this.device = device;
        this.name = name;
        this.function = function;
    }

    /**
     * Blocks of this kernel that fit one multiprocessor at once (the driver's occupancy calculator), for a launch of
     * {@code threads} threads and {@code sharedBytes} dynamic shared memory. Raises the kernel's dynamic shared limit
     * (and carveout preference) as a launch would, so the answer is the one a launch gets.
     */
    public int blocksPerMultiprocessor(int threads, int sharedBytes) {
        device.makeCurrent();
        raiseSharedLimit(sharedBytes);
        int[] n = new int[1];
        Cuda.check(cuOccupancyMaxActiveBlocksPerMultiprocessor(n, function, threads, sharedBytes),
                "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + name + ")");
        return n[0];
    }

    public String name() {
        return name;
    }

    /**
     * Launches on the default stream, or on the side stream inside {@link CudaDevice#concurrently}'s second piece
     * (asynchronous; errors inside the kernel surface at the next synchronize).
     *
     * @param grid        blocks in x, y, z
     * @param blockX      threads per block (1-D blocks)
     * @param sharedBytes dynamic shared memory per block; the kernel's dynamic limit is raised to it first (needed
     *                    once dynamic + static shared memory passes 48 KiB)
     * @param args        kernel arguments (see the class comment); not modified
     */
    public void launch(int[] grid, int blockX, int sharedBytes, Object... args) {
        device.makeCurrent();
        if (sharedBytes > device.maxSharedPerBlock()) {
            throw new IllegalArgumentException("kernel " + name + " needs " + sharedBytes
                    + " bytes of shared memory per block, the device allows " + device.maxSharedPerBlock());
        }
        raiseSharedLimit(sharedBytes);
        Pointer[] p = new Pointer[args.length];
        for (int n = 0; n < args.length; n++) {
            Object a = args[n];
            if (a == null) {
                p[n] = Pointer.to(new CUdeviceptr());
            } else if (a instanceof DeviceBuffer) {
                p[n] = Pointer.to(((DeviceBuffer) a).pointer());
            } else if (a instanceof CUdeviceptr) {
                p[n] = Pointer.to((CUdeviceptr) a);
            } else if (a instanceof Integer) {
                p[n] = Pointer.to(new int[] {(Integer) a});
            } else if (a instanceof Long) {
                p[n] = Pointer.to(new long[] {(Long) a});
            } else if (a instanceof Double) {
                p[n] = Pointer.to(new double[] {(Double) a});
            } else if (a instanceof Float) {
                p[n] = Pointer.to(new float[] {(Float) a});
            } else {
                throw new IllegalArgumentException("kernel " + name + " argument " + n + ": unsupported type "
                        + a.getClass().getName());
            }
        }
        if (grid[0] <= 0 || grid[1] <= 0 || grid[2] <= 0) {
            return;  // nothing to do (empty grid)
        }
        device.noteLaunch(name);
        Cuda.check(cuLaunchKernel(function, grid[0], grid[1], grid[2], blockX, 1, 1, sharedBytes, device.launchStream(),
                Pointer.to(p), null), "cuLaunchKernel(" + name + ", grid " + grid[0] + "x" + grid[1] + "x" + grid[2]
                + ", block " + blockX + ", shared " + sharedBytes + ")");
    }

    /** 1-D grid shorthand. */
    public void launch1d(long blocks, int blockX, int sharedBytes, Object... args) {
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("kernel " + name + ": grid of " + blocks + " blocks exceeds 2^31-1");
        }
        launch(new int[] {(int) blocks, 1, 1}, blockX, sharedBytes, args);
    }

    private void raiseSharedLimit(int sharedBytes) {
        if (sharedBytes > sharedLimitSet) {
            Cuda.check(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes),
                    "cuFuncSetAttribute(" + name + ", max dynamic shared = " + sharedBytes + ")");
            // large tiles prefer the largest shared-memory carveout, so a kernel whose tile fits the SM more than
            // once gets the CTAs per SM that blocksPerMultiprocessor reports (the setting of every recorded run);
            // small ones keep the driver's choice, and their L1
            if (sharedBytes > 48 * 1024) {
                Cuda.check(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100),
                        "cuFuncSetAttribute(" + name + ", preferred shared carveout = 100%)");
            }
            sharedLimitSet = sharedBytes;
        }
    }
}
