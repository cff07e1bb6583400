package org.swiattn.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.CudaTimer;
import org.swiattn.cuda.driver.DeviceBuffer;

/**
 * The one timing method of {@code swiattn bench}, for our kernels and (in {@code bench/peers/timing.py}, the same
 * steps) for the PyTorch peers, so that every ratio compares like with like.
 *
 * <pre>{@code
 *   FLUSHED (default)  warm-up runs; then per repeat: clear the L2 (write a 256 MiB buffer), event, the work,
 *                      event, all queued back to back without waiting; median (and min) of the event times
 *   SYNC               per repeat: event, the work, event, wait for it (no flush): the method of earlier runs
 * }</pre>
 * Why: CUDA events time the device work alone (no host launch overhead inside a region that the queue keeps
 * full); clearing the L2 before each repeat keeps a 4K problem, whose K and V fit the 60 MB L2, from being timed
 * warm; queueing back to back keeps the clocks up between repeats; the median is robust to a stray slow run.
 * These are the steps of {@code triton.testing.do_bench}, which the peers used before, with a fixed repeat count.
 */
public final class BenchTiming {
    /** How repeats are timed. */
    public enum Method { FLUSHED, SYNC }

    /** Bytes written to clear the L2 before each repeat (the size do_bench uses). */
    public static final long FLUSH_BYTES = 256L << 20;

    private final CudaDevice dev;
    private final Method method;
    private final int warmup;
    private final int repeats;

    /**
     * @param warmup  untimed runs first (>= 0)
     * @param repeats timed runs (>= 1)
     */
    public BenchTiming(CudaDevice dev, Method method, int warmup, int repeats) {
        if (repeats < 1) {
            throw new org.swiattn.spec.InvalidInputException("repeats", "must be >= 1, got " + repeats);
        }
        if (warmup < 0) {
            throw new org.swiattn.spec.InvalidInputException("warmup", "must be >= 0, got " + warmup);
        }
        this.dev = dev;
        this.method = method;
        this.warmup = warmup;
        this.repeats = repeats;
    }

    public Method method() {
        return method;
    }

    /** The method as a sentence for reports. */
    public String describe() {
        return String.format(Locale.ROOT, method == Method.FLUSHED
                ? "CUDA events, %d warm-up runs, %d repeats queued back to back, L2 cleared (256 MiB write) before "
                + "each, median" : "CUDA events, %d warm-up runs, %d repeats each waited for, no L2 flush, median",
                warmup, repeats);
    }

    /** {median, min} of the repeats, in ms. @param run the work (launches on the default stream) */
    public double[] measure(Runnable run) {
        for (int i = 0; i < warmup; i++) {
            run.run();
        }
        dev.synchronize();
        double[] ms = new double[repeats];
        if (method == Method.SYNC) {
            try (CudaTimer t = new CudaTimer(dev)) {
                for (int i = 0; i < repeats; i++) {
                    t.start();
                    run.run();
                    ms[i] = t.stop();
                }
            }
        } else {
            List<CudaTimer> timers = new ArrayList<>();
            try (DeviceBuffer flush = DeviceBuffer.allocate(dev, FLUSH_BYTES, "l2-flush")) {
                for (int i = 0; i < repeats; i++) {
                    CudaTimer t = new CudaTimer(dev);
                    timers.add(t);
                    flush.fillAsync((byte) i);
                    t.start();
                    run.run();
                    t.end();
                }
                for (int i = 0; i < repeats; i++) {
                    ms[i] = timers.get(i).elapsed();
                }
            } finally {
                timers.forEach(CudaTimer::close);
            }
        }
        Arrays.sort(ms);
        return new double[] {ms[repeats / 2], ms[0]};
    }
}
