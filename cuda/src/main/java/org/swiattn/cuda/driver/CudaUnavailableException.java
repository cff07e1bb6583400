package org.swiattn.cuda.driver;

/** No usable CUDA here: no driver, no device, or the kernels were not compiled into the jar (no nvcc at build). */
public final class CudaUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String message) {
        super(message);
    }
}
