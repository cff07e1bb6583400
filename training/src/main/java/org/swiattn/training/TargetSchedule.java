package org.swiattn.training;

import org.swiattn.spec.InvalidInputException;


/**
 * Target warm-up of the adaptive regularizer (spec/SPEC.md section "Adaptive regularizer"; our documented choice,
 * the linear form of CoFi / Sheared-LLaMA):
 *
 * <pre>
 *   t_s = t_start + (t_final - t_start) * min(1, s / warmup)       s = 0, 1, 2, ... (optimizer steps done)
 *   warmup == 0: t_s = t_final for every s.      Default t_start = 1 (the transferred model is all-full).
 * </pre>
 *
 * @param start  t_start in [0, 1]
 * @param end    t_final in [0, 1]
 * @param warmup number of steps of the linear ramp, {@code >= 0}
 */
public record TargetSchedule(double start, double end, int warmup) {

    public TargetSchedule {
        InvalidInputException.require(Double.isFinite(start) && start >= 0 && start <= 1, "targetStart",
                "must be in [0, 1], got " + start);
        InvalidInputException.require(Double.isFinite(end) && end >= 0 && end <= 1, "targetFinal",
                "must be in [0, 1], got " + end);
        InvalidInputException.require(warmup >= 0, "warmup", "must be >= 0, got " + warmup);
    }

    /** The default ramp from t_start = 1 to t_final over warmup steps. */
    public static TargetSchedule fromFull(double end, int warmup) {
        return new TargetSchedule(1.0, end, warmup);
    }

    /** t_s for step {@code s >= 0}. */
    public double target(long step) {
        InvalidInputException.require(step >= 0, "step", "must be >= 0, got " + step);
        if (warmup == 0 || step >= warmup) {
            return end;
        }
        return start + (end - start) * ((double) step / warmup);
    }
}
