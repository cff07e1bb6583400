package org.swiattn.cuda.driver;

/** Device memory ran out; the message says how much was asked for, for what, and how much the device has free. */
public final class CudaOutOfMemoryException extends CudaException {
    private static final long serialVersionUID = 1L;
    private final long requestedBytes;

    public CudaOutOfMemoryException(String call, int code, long requestedBytes, String detail) {
        super(call, code, detail);
        this.requestedBytes = requestedBytes;
    }

    public long requestedBytes() {
        return requestedBytes;
    }
}
