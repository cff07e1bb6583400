package org.swiattn.cuda.driver;

import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleGetGlobal;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;

/**
 * A fatbin (compute_80 PTX + sm_90 SASS) compiled from one {@code cuda/src/main/cuda/<name>.cu} at build time and
 * packaged in the jar as {@code /org/swiattn/cuda/kernels/<name>.fatbin}, loaded with {@code cuModuleLoadData}.
 * Get one through {@link CudaDevice#module(String)} (cached per device).
 */
public final class KernelModule {
    /** Folder of the fatbins inside the jar. */
    public static final String RESOURCE_DIR = "/org/swiattn/cuda/kernels/";

    private final CudaDevice device;
    private final String name;
    private final CUmodule module = new CUmodule();
    private final Map<String, Kernel> kernels = new HashMap<>();

    private KernelModule(CudaDevice device, String name, byte[] image) {
        this.device = device;
        this.name = name;
        Cuda.check(cuModuleLoadData(module, image), "cuModuleLoadData(" + name + ".fatbin)");
    }

    static KernelModule load(CudaDevice device, String name) {
        return new KernelModule(device, name, readResource(name));
    }

    /**
     * The bytes of a packaged fatbin.
     *
     * @throws CudaUnavailableException when the jar holds no such fatbin (nvcc was absent at build time)
     */
    public static byte[] readResource(String name) {
        String path = RESOURCE_DIR + name + ".fatbin";
        try (InputStream in = KernelModule.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new CudaUnavailableException("kernel file " + path + " is not in the jar: the module was built "
                        + "without nvcc; rebuild swiattn-cuda on a machine with the CUDA toolkit");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new CudaUnavailableException("cannot read " + path + ": " + e.getMessage());
        }
    }

    /** Whether the jar holds the fatbin of this name (false when built without nvcc). */
    public static boolean isPackaged(String name) {
        return KernelModule.class.getResource(RESOURCE_DIR + name + ".fatbin") != null;
    }

    /** The kernel of this extern "C" name (looked up once). */
    public synchronized Kernel kernel(String kernelName) {
        return kernels.computeIfAbsent(kernelName, n -> {
            CUfunction f = new CUfunction();
            Cuda.check(cuModuleGetFunction(f, module, n), "cuModuleGetFunction(" + name + ":" + n + ")");
            return new Kernel(device, n, f);
        });
    }

    /**
     * Reads a {@code __constant__ int[count]} of the module (e.g. a kernel's tile configuration).
     *
     * @param global the extern "C" name of the array
     */
    public int[] intConstants(String global, int count) {
        device.makeCurrent();
        CUdeviceptr p = new CUdeviceptr();
        long[] size = {0};
        Cuda.check(cuModuleGetGlobal(p, size, module, global), "cuModuleGetGlobal(" + name + ":" + global + ")");
        if (size[0] != 4L * count) {
            throw new IllegalStateException(global + " has " + size[0] + " bytes, expected " + 4L * count);
        }
        int[] out = new int[count];
        Cuda.check(cuMemcpyDtoH(Pointer.to(out), p, 4L * count), "cuMemcpyDtoH(" + global + ")");
        return out;
    }

    public String name() {
        return name;
    }

    public CudaDevice device() {
        return device;
    }
}
