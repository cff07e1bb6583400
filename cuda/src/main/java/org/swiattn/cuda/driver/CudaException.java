package org.swiattn.cuda.driver;

import jcuda.driver.CUresult;

/**
 * A CUDA driver call failed. The message names the call (e.g. {@code cuLaunchKernel(swi_fwd_v3_f64_d128)}) and the
 * CUDA error ({@code CUDA_ERROR_ILLEGAL_ADDRESS}).
 */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String call;
    private final int code;

    public CudaException(String call, int code, String detail) {
        super(call + " failed: " + errorName(code) + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")"));
        this.call = call;
        this.code = code;
    }

    /** The driver call that failed, with the kernel or buffer it concerned. */
    public String call() {
        return call;
    }

    /** The CUresult code. */
    public int code() {
        return code;
    }

    static String errorName(int code) {
        try {
            return CUresult.stringFor(code);
        } catch (Throwable t) {
            return "CUresult " + code;
        }
    }
}
