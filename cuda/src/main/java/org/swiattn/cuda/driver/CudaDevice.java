package org.swiattn.cuda.driver;

import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;
import static jcuda.driver.CUevent_flags.CU_EVENT_DISABLE_TIMING;
import static jcuda.driver.CUstream_flags.CU_STREAM_NON_BLOCKING;
import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;

import java.util.HashMap;
import java.util.Map;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUevent;
import jcuda.driver.CUstream;

/**
 * One CUDA device and its primary context, shared by every user in the process (CudaAttention, the bf16 kernels,
 * the benchmark). Obtain with {@link #get(int)}; every public entry point of this module calls
 * {@link #makeCurrent()} first, so any Java thread may use it. The primary context lives as long as the process.
 */
public final class CudaDevice {
    private static final Map<Integer, CudaDevice> DEVICES = new HashMap<>();

    private final int ordinal;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final String name;
    private final int ccMajor;
    private final int ccMinor;
    private final int multiprocessors;
    private final int maxSharedPerBlock;
    private final Map<String, KernelModule> modules = new HashMap<>();
    private volatile String lastKernel = "(none)";

    private CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        Cuda.check(cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        Cuda.check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain(" + ordinal + ")");
        Cuda.check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        byte[] nm = new byte[256];
        Cuda.check(cuDeviceGetName(nm, nm.length, device), "cuDeviceGetName");
        int len = 0;
        while (len < nm.length && nm[len] != 0) {
            len++;
        }
        this.name = new String(nm, 0, len, java.nio.charset.StandardCharsets.US_ASCII);
        this.ccMajor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "compute capability major");
        this.ccMinor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "compute capability minor");
        this.multiprocessors = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "multiprocessor count");
        this.maxSharedPerBlock = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                "max shared memory per block (opt-in)");
    }

    /**
     * The device with this ordinal, its primary context current on the calling thread.
     *
     * @throws CudaUnavailableException when there is no driver or no such device
     */
    public static synchronized CudaDevice get(int ordinal) {
        String why = Cuda.unavailableReason();
        if (why != null) {
            throw new CudaUnavailableException("CUDA is not available: " + why);
        }
        CudaDevice d = DEVICES.computeIfAbsent(ordinal, CudaDevice::new);
        d.makeCurrent();
        return d;
    }

    /** Device 0. */
    public static CudaDevice get() {
        return get(0);
    }

    private int attribute(int attr, String what) {
        int[] v = {0};
        Cuda.check(cuDeviceGetAttribute(v, attr, device), "cuDeviceGetAttribute(" + what + ")");
        return v[0];
    }

    /** Makes this device's primary context current on the calling thread. */
    public void makeCurrent() {
        Cuda.check(cuCtxSetCurrent(context), "cuCtxSetCurrent(device " + ordinal + ")");
    }

    /** Waits for all work; an asynchronous kernel fault is reported naming the last kernel launched. */
    public void synchronize() {
        int r = cuCtxSynchronize();
        if (r != 0) {
            throw new CudaException("cuCtxSynchronize (after kernel " + lastKernel + ")", r, null);
        }
    }

    void noteLaunch(String kernel) {
        lastKernel = kernel;
    }

    // the side stream of concurrently(): non-blocking, so work on the legacy default stream does not wait for it
    // except through the join event
    private CUstream side;
    private CUevent forkEvent, joinEvent;
    private final ThreadLocal<CUstream> launchStream = new ThreadLocal<>();

    /** The stream this thread's launches and asynchronous fills go to: null (the default stream) or the side one. */
    CUstream launchStream() {
        return launchStream.get();
    }

    /**
     * Two independent pieces of device work on 1 stream (first, then second, on the default stream) or on 2
     * ({@link #concurrently}): the one switch of every "1 or 2 streams" option.
     *
     * @throws IllegalArgumentException for a stream count other than 1 or 2
     */
    public void onStreams(int streams, Runnable first, Runnable second) {
        checkStreams(streams);
        if (streams == 1) {
            first.run();
            second.run();
        } else {
            concurrently(first, second);
        }
    }

    /** Rejects a stream count other than 1 or 2, naming it. */
    public static void checkStreams(int streams) {
        if (streams != 1 && streams != 2) {
            throw new IllegalArgumentException("streams: 1 or 2 expected, got " + streams);
        }
    }

    /**
     * Runs two independent pieces of device work concurrently: what {@code onDefault} launches goes to the default
     * stream as usual, what {@code onSide} launches to a second stream that starts after everything queued so far
     * and that the default stream waits for afterwards. The device may then run the blocks of both at once (one
     * filling the other's last wave); work queued later on the default stream sees both finished. The two must not
     * write what the other reads or writes. {@code onDefault} is launched first: its blocks are dispatched first.
     *
     * <pre>{@code
     *   default:  ... -> [fork] -> onDefault ------------------> [wait join] -> ...
     *   side:              [wait fork] -> onSide -> [join]
     * }</pre>
     */
    public synchronized void concurrently(Runnable onDefault, Runnable onSide) {
        makeCurrent();
        if (side == null) {
            CUstream st = new CUstream();
            Cuda.check(cuStreamCreate(st, CU_STREAM_NON_BLOCKING), "cuStreamCreate(non-blocking)");
            CUevent f = new CUevent();
            CUevent j = new CUevent();
            Cuda.check(cuEventCreate(f, CU_EVENT_DISABLE_TIMING), "cuEventCreate(fork)");
            Cuda.check(cuEventCreate(j, CU_EVENT_DISABLE_TIMING), "cuEventCreate(join)");
            side = st;
            forkEvent = f;
            joinEvent = j;
        }
        Cuda.check(cuEventRecord(forkEvent, null), "cuEventRecord(fork)");
        Cuda.check(cuStreamWaitEvent(side, forkEvent, 0), "cuStreamWaitEvent(side, fork)");
        try {
            onDefault.run();
        } finally {
            launchStream.set(side);
            try {
                onSide.run();
            } finally {
                launchStream.remove();
                Cuda.check(cuEventRecord(joinEvent, side), "cuEventRecord(join)");
                Cuda.check(cuStreamWaitEvent(null, joinEvent, 0), "cuStreamWaitEvent(default, join)");
            }
        }
    }

    /**
     * The module of a fatbin packaged in the jar, loaded once per device.
     *
     * @param name the kernel file's name without extension, e.g. {@code "attention_forward"} or
     *             {@code "bf16/attention_bf16"} (resource {@code /org/swiattn/cuda/kernels/<name>.fatbin})
     */
    public synchronized KernelModule module(String name) {
        makeCurrent();
        return modules.computeIfAbsent(name, n -> KernelModule.load(this, n));
    }

    /** {free, total} device memory in bytes. */
    public long[] memoryInfo() {
        makeCurrent();
        long[] free = {0};
        long[] total = {0};
        Cuda.check(cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    public int ordinal() {
        return ordinal;
    }

    public String name() {
        return name;
    }

    /** Compute capability as major*10 + minor, e.g. 90 for Hopper. */
    public int computeCapability() {
        return ccMajor * 10 + ccMinor;
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    /** Largest dynamic shared memory one block may opt in to, in bytes. */
    public int maxSharedPerBlock() {
        return maxSharedPerBlock;
    }

    @Override
    public String toString() {
        return name + " (cc " + ccMajor + "." + ccMinor + ", " + multiprocessors + " SMs)";
    }
}
