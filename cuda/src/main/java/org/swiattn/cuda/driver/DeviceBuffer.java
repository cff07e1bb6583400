package org.swiattn.cuda.driver;

import static jcuda.driver.CUresult.CUDA_ERROR_OUT_OF_MEMORY;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD8;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;

import java.util.List;
import java.util.function.Supplier;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * Device memory (cuMemAlloc), released deterministically by {@link #close()} (use try-with-resources). Every buffer
 * carries a label (e.g. {@code "q"}) that error messages name. Out of memory raises
 * {@link CudaOutOfMemoryException} with the size asked for and the device's free/total memory.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CudaDevice device;
    private final CUdeviceptr ptr = new CUdeviceptr();
    private final long bytes;
    private final String label;
    private boolean closed;

    private DeviceBuffer(CudaDevice device, long bytes, String label) {
        this.device = device;
        this.bytes = bytes;
        this.label = label;
        device.makeCurrent();
        int r = cuMemAlloc(ptr, Math.max(bytes, 1));
        if (r == CUDA_ERROR_OUT_OF_MEMORY) {
            long[] mem = device.memoryInfo();
            throw new CudaOutOfMemoryException("cuMemAlloc(" + label + ")", r, bytes, "asked for "
                    + Cuda.bytes(bytes) + " for '" + label + "', the device has " + Cuda.bytes(mem[0]) + " free of "
                    + Cuda.bytes(mem[1]) + "; use a smaller shape (batch, sequence length or heads)");
        }
        Cuda.check(r, "cuMemAlloc(" + label + ", " + bytes + " bytes)");
    }

    /** Uninitialised device memory of this many bytes. */
    public static DeviceBuffer allocate(CudaDevice device, long bytes, String label) {
        if (bytes < 0) {
            throw new IllegalArgumentException(label + ": negative size " + bytes);
        }
        return new DeviceBuffer(device, bytes, label);
    }

    /** A copy of x on the device (8 bytes per element). @param x not modified */
    public static DeviceBuffer of(CudaDevice device, double[] x, String label) {
        DeviceBuffer b = allocate(device, 8L * x.length, label);
        b.copyFrom(x);
        return b;
    }

    /** A copy of x on the device (4 bytes per element). @param x not modified */
    public static DeviceBuffer of(CudaDevice device, float[] x, String label) {
        DeviceBuffer b = allocate(device, 4L * x.length, label);
        b.copyFrom(x);
        return b;
    }

    /** A copy of x on the device (4 bytes per element). @param x not modified */
    public static DeviceBuffer of(CudaDevice device, int[] x, String label) {
        DeviceBuffer b = allocate(device, 4L * x.length, label);
        b.copyFrom(x);
        return b;
    }

    /** A copy of x on the device (1 byte per element). @param x not modified */
    public static DeviceBuffer of(CudaDevice device, byte[] x, String label) {
        DeviceBuffer b = allocate(device, x.length, label);
        b.copyFrom(x);
        return b;
    }

    /** A copy of x on the device in the given precision (FP64: doubles, FP32: floats rounded to nearest). */
    public static DeviceBuffer of(CudaDevice device, double[] x, boolean asFloat, String label) {
        return asFloat ? of(device, toFloats(x), label) : of(device, x, label);
    }

    /** x rounded to binary32. @param x not modified */
    public static float[] toFloats(double[] x) {
        float[] f = new float[x.length];
        for (int n = 0; n < x.length; n++) {
            f[n] = (float) x[n];
        }
        return f;
    }

    private void live() {
        if (closed) {
            throw new IllegalStateException("device buffer '" + label + "' was already closed");
        }
        device.makeCurrent();
    }

    /**
     * Runs the allocations in order and returns their buffers in that order; when one fails, frees the buffers
     * allocated before it, runs onFailure (the caller's other resources) and rethrows.
     */
    public static DeviceBuffer[] allocateAll(Runnable onFailure, List<Supplier<DeviceBuffer>> steps) {
        DeviceBuffer[] b = new DeviceBuffer[steps.size()];
        try {
            for (int i = 0; i < b.length; i++) {
                b[i] = steps.get(i).get();
            }
            return b;
        } catch (RuntimeException | Error e) {
            closeAll(b);
            onFailure.run();
            throw e;
        }
    }

    /** Frees buffers, the last first; nulls (never allocated) are skipped. */
    public static void closeAll(DeviceBuffer... buffers) {
        for (int i = buffers.length - 1; i >= 0; i--) {
            if (buffers[i] != null) {
                buffers[i].close();
            }
        }
    }

    private void checkSize(long need) {
        if (need > bytes) {
            throw new IllegalArgumentException("device buffer '" + label + "' holds " + bytes + " bytes, "
                    + need + " requested");
        }
    }

    public void copyFrom(double[] x) {
        live();
        checkSize(8L * x.length);
        Cuda.check(cuMemcpyHtoD(ptr, Pointer.to(x), 8L * x.length), "cuMemcpyHtoD(" + label + ")");
    }

    public void copyFrom(float[] x) {
        live();
        checkSize(4L * x.length);
        Cuda.check(cuMemcpyHtoD(ptr, Pointer.to(x), 4L * x.length), "cuMemcpyHtoD(" + label + ")");
    }

    public void copyFrom(int[] x) {
        live();
        checkSize(4L * x.length);
        Cuda.check(cuMemcpyHtoD(ptr, Pointer.to(x), 4L * x.length), "cuMemcpyHtoD(" + label + ")");
    }

    public void copyFrom(byte[] x) {
        live();
        checkSize(x.length);
        Cuda.check(cuMemcpyHtoD(ptr, Pointer.to(x), x.length), "cuMemcpyHtoD(" + label + ")");
    }

    /** The first n doubles. */
    public double[] toDoubles(int n) {
        live();
        checkSize(8L * n);
        double[] x = new double[n];
        Cuda.check(cuMemcpyDtoH(Pointer.to(x), ptr, 8L * n), "cuMemcpyDtoH(" + label + ")");
        return x;
    }

    /** The first n floats. */
    public float[] toFloats(int n) {
        live();
        checkSize(4L * n);
        float[] x = new float[n];
        Cuda.check(cuMemcpyDtoH(Pointer.to(x), ptr, 4L * n), "cuMemcpyDtoH(" + label + ")");
        return x;
    }

    /** The first n ints. */
    public int[] toInts(int n) {
        live();
        checkSize(4L * n);
        int[] x = new int[n];
        Cuda.check(cuMemcpyDtoH(Pointer.to(x), ptr, 4L * n), "cuMemcpyDtoH(" + label + ")");
        return x;
    }

    /** n ints from int offset. */
    public int[] readInts(long offset, int n) {
        live();
        checkSize(4L * (offset + n));
        int[] x = new int[n];
        Cuda.check(cuMemcpyDtoH(Pointer.to(x), ptr.withByteOffset(4L * offset), 4L * n), "cuMemcpyDtoH(" + label + ")");
        return x;
    }

    /** n elements from element offset, widened to double; elements are doubles (FP64) or floats (FP32). */
    public double[] read(long offset, int n, boolean floats) {
        live();
        int es = floats ? 4 : 8;
        checkSize((offset + n) * es);
        CUdeviceptr at = ptr.withByteOffset(offset * es);
        double[] out = new double[n];
        if (floats) {
            float[] f = new float[n];
            Cuda.check(cuMemcpyDtoH(Pointer.to(f), at, 4L * n), "cuMemcpyDtoH(" + label + ")");
            for (int k = 0; k < n; k++) {
                out[k] = f[k];
            }
        } else {
            Cuda.check(cuMemcpyDtoH(Pointer.to(out), at, 8L * n), "cuMemcpyDtoH(" + label + ")");
        }
        return out;
    }

    /** The whole buffer as doubles, widening from floats when {@code floats}. */
    public double[] readAll(int n, boolean floats) {
        return read(0, n, floats);
    }

    /** Sets every byte to b (e.g. 0xFF poisons doubles/floats with NaN). */
    public void fill(byte b) {
        live();
        Cuda.check(cuMemsetD8(ptr, b, bytes), "cuMemsetD8(" + label + ")");
    }

    /**
     * Sets every byte to b, queued on the default stream (inside {@link CudaDevice#concurrently}'s second piece: the
     * side stream); the host does not wait. @param b the byte value
     */
    public void fillAsync(byte b) {
        live();
        Cuda.check(cuMemsetD8Async(ptr, b, bytes, device.launchStream()), "cuMemsetD8Async(" + label + ")");
    }

    /** The device address (for kernel arguments). */
    public CUdeviceptr pointer() {
        if (closed) {
            throw new IllegalStateException("device buffer '" + label + "' was already closed");
        }
        return ptr;
    }

    /** The address byteOffset bytes in. */
    public CUdeviceptr at(long byteOffset) {
        checkSize(byteOffset);
        return pointer().withByteOffset(byteOffset);
    }

    public long bytes() {
        return bytes;
    }

    public String label() {
        return label;
    }

    /** Frees the memory (idempotent). */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            device.makeCurrent();
            Cuda.check(cuMemFree(ptr), "cuMemFree(" + label + ")");
        }
    }
}
