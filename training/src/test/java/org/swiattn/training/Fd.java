package org.swiattn.training;

import java.util.function.DoubleSupplier;

/** Central finite differences for the gradient checks. */
final class Fd {
    private Fd() {
    }

    /**
     * (f(x + h) - f(x - h)) / 2h, perturbing x[k] in place and restoring it.
     *
     * @param x modified during the call, restored on return
     */
    static double central(double[] x, int k, double h, DoubleSupplier f) {
        double keep = x[k];
        x[k] = keep + h;
        double up = f.getAsDouble();
        x[k] = keep - h;
        double down = f.getAsDouble();
        x[k] = keep;
        return (up - down) / (2 * h);
    }

    /**
     * The fourth-order central difference, Richardson's combination of two {@link #central} steps:
     * <pre>{@code
     * (4 D(h) - D(2h)) / 3 = (8 (f(x + h) - f(x - h)) - (f(x + 2h) - f(x - 2h))) / 12h = f'(x) - h^4 f^(5)(x) / 30 + ...
     * }</pre>
     * For functions whose third derivative is large at the test point (an RMSNorm of a 2-wide vector near zero),
     * where the truncation h^2 f^(3)(x) / 6 of {@link #central} exceeds the check's tolerance.
     *
     * @param x modified during the call, restored on return
     */
    static double central4(double[] x, int k, double h, DoubleSupplier f) {
        return (4 * central(x, k, h, f) - central(x, k, 2 * h, f)) / 3;
    }

    /** {@code |a - b| <= rel * max(scale, |a|, |b|)}. */
    static boolean close(double a, double b, double rel, double scale) {
        return Math.abs(a - b) <= rel * Math.max(scale, Math.max(Math.abs(a), Math.abs(b)));
    }

    /**
     * The rounding floor of {@link #central}: each evaluation of f carries a few ulps of |f| of rounding error
     * (a sum of many terms), and the difference divides it by 2h.
     * <pre>{@code
     * floor = 64 * ulp(|f(x)|) / h
     * }</pre>
     * A gradient entry far below this cannot be checked by differences; above it the check is relative.
     */
    static double roundoff(double value, double h) {
        return 64 * Math.ulp(Math.abs(value)) / h;
    }

    static double[] uniform(SplitMix64 rng, int n, double amp) {
        double[] x = new double[n];
        for (int k = 0; k < n; k++) {
            x[k] = amp * (2 * rng.nextDouble() - 1);
        }
        return x;
    }
}
