package org.swiattn.cuda.driver;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;

import jcuda.driver.CUevent;

/**
 * A pair of CUDA events around device work on the default stream: {@code start(); ...; ms = stop();}, or, for many
 * timed regions queued back to back without waiting, {@code start(); ...; end();} on each timer and
 * {@link #elapsed()} on each once everything is queued.
 */
public final class CudaTimer implements AutoCloseable {
    private final CudaDevice device;
    private final CUevent start = new CUevent();
    private final CUevent end = new CUevent();

    public CudaTimer(CudaDevice device) {
        this.device = device;
        device.makeCurrent();
        Cuda.check(cuEventCreate(start, 0), "cuEventCreate");
        Cuda.check(cuEventCreate(end, 0), "cuEventCreate");
    }

    public void start() {
        device.makeCurrent();
        Cuda.check(cuEventRecord(start, null), "cuEventRecord(start)");
    }

    /** Records the end event, waits for it, and returns the elapsed device time in milliseconds. */
    public float stop() {
        end();
        return elapsed();
    }

    /** Records the end event without waiting. */
    public void end() {
        device.makeCurrent();
        Cuda.check(cuEventRecord(end, null), "cuEventRecord(end)");
    }

    /** Waits for the end event and returns the device time between the two events, in milliseconds. */
    public float elapsed() {
        device.makeCurrent();
        int r = cuEventSynchronize(end);
        if (r != 0) {
            device.synchronize();
            Cuda.check(r, "cuEventSynchronize");
        }
        float[] ms = {0};
        Cuda.check(cuEventElapsedTime(ms, start, end), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void close() {
        device.makeCurrent();
        cuEventDestroy(start);
        cuEventDestroy(end);
    }
}
