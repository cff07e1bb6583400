package org.swiattn.properties;

import java.lang.reflect.Constructor;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Provide;

import org.swiattn.reference.NaiveAttention;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.reference.ScoreMagnitude;
import org.swiattn.reference.TermMagnitudes;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;
import org.swiattn.spec.Tolerance;

/**
 * What every property class of the suite shares: the implementation under test, the tolerance hooks, the named
 * generators and the comparison helpers.
 *
 * <p>To run the suite on an implementation, subclass each property class ({@link ForwardProperties},
 * {@link GradientProperties}, {@link ValidationProperties}, {@link ConformanceProperties},
 * {@link OracleProperties}, {@link SegmentProperties}, {@link SegmentValidationProperties}) in a test source
 * folder, with a name ending in {@code Properties}, and return the implementation from {@link #implementation()}:
 * <pre>{@code
 *   class CudaForwardProperties extends ForwardProperties {
 *       protected SwitchAttention implementation() { return CudaHolder.FP64; }  // cached: called often
 *   }
 * }</pre>
 * or name a {@link Fixture} that every subclass for that implementation shares ({@link UnderTest}).
 *
 * <p>Tolerance (SPEC.md section 10, spec 1.1, {@link Tolerance}): how closely the implementation must match is
 * decided by its {@link Precision}. Every error is a normwise relative error with the term-size allowance,
 * ||x - ref|| / max(||ref||, ||T||), T the term-magnitude tensor of the inputs ({@link TermMagnitudes},
 * {@link #forwardTerms}, {@link #backwardTerms}). FP64: {@code e <= 1e-12 * max(1, M)}, M the score magnitude
 * ({@link ScoreMagnitude}). FP32/BF16: at most twice the error of the naive implementation of the same precision
 * ({@link NaiveAttention}) on the same inputs, measured with the same denominator, plus the noise floor.
 * {@link #forwardBounds} and {@link #backwardBounds} compute these bounds from {@link #bounds()}; an implementation
 * that promises tighter bounds overrides that one hook, with a documented reason. The term tensors are not
 * overridable: they belong to the inputs, not to the implementation.
 *
 * <p>Metamorphic properties compare the implementation with itself on two related inputs; each side may be off
 * by its bound, so they allow the sum of the two bounds ({@link #selfBounds}), relative to the larger of the two
 * sides' term tensors ({@link #maxTerms}).
 */
public abstract class AttentionPropertiesBase {

    private static final ReferenceAttention REFERENCE = new ReferenceAttention(false);
    private static final Map<Class<? extends Fixture>, Fixture> FIXTURES = new ConcurrentHashMap<>();

    /**
     * The implementation under test. Called often: return a cached instance. The default is the {@link UnderTest}
     * fixture's; a class with neither an override nor the annotation fails every try, saying so.
     */
    protected SwitchAttention implementation() {
        Fixture f = fixture();
        if (f == null) {
            throw new IllegalStateException(getClass().getName()
                    + ": override implementation() or name a fixture with @UnderTest");
        }
        return f.implementation();
    }

    /** The {@link UnderTest} fixture of this class, created once per fixture class; null without the annotation. */
    private Fixture fixture() {
        UnderTest u = getClass().getAnnotation(UnderTest.class);
        return u == null ? null : FIXTURES.computeIfAbsent(u.value(), AttentionPropertiesBase::newFixture);
    }

    private static Fixture newFixture(Class<? extends Fixture> c) {
        try {
            Constructor<? extends Fixture> k = c.getDeclaredConstructor();
            k.setAccessible(true);
            return k.newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(c.getName() + ": a fixture needs a constructor without arguments", e);
        }
    }

    /** The fp64 reference: truth of the conformance properties and of the naive-error tolerance rule. */
    protected SwitchAttention reference() {
        return REFERENCE;
    }

    /**
     * Whether the implementation handles this shape and window; the suite skips (jqwik {@code Assume}) the cases
     * it does not. The default is every shape: the contract has no limits. An implementation that narrows the
     * contract (a kernel for D in {64, 128} only) says so here (or in its {@link Fixture}), and its report must say
     * so too.
     */
    protected boolean supports(Shape shape, int window) {
        Fixture f = fixture();
        return f == null || f.supports(shape, window);
    }

    /** Skips the try unless {@link #supports} the inputs. */
    protected final void assumeSupported(AttentionInputs in) {
        Assume.that(supports(in.shape(), in.window()));
    }

    // ----------------------------------------------------------------------------------------------------------
    // tolerance hooks

    /** Bounds on the errors of a forward result: O (normwise relative) and LSE ({@link Checks#lseError}). */
    public record ForwardBounds(double o, double lse) {
        /** Both bounds times f. */
        public ForwardBounds times(double f) {
            return new ForwardBounds(o * f, lse * f);
        }

        /** The larger of two bounds, element by element. */
        public ForwardBounds max(ForwardBounds other) {
            return new ForwardBounds(Math.max(o, other.o), Math.max(lse, other.lse));
        }
    }

    /** Bounds on the normwise relative errors of a backward result. */
    public record BackwardBounds(double dq, double dk, double dv, double dRouterLogit) {
    }

    /** How closely an implementation must match, per inputs: the bounds of its forward and backward results. */
    public interface Bounds {
        /** @param in inputs; not modified */
        ForwardBounds forward(AttentionInputs in);

        /** @param in inputs; not modified @param dOut [B,S,Hq,D]; not modified */
        BackwardBounds backward(AttentionInputs in, double[] dOut);

        /** The same bound b(in) on every tensor of the forward and the backward. */
        static Bounds uniform(java.util.function.ToDoubleFunction<AttentionInputs> b) {
            return new Bounds() {
                @Override
                public ForwardBounds forward(AttentionInputs in) {
                    double x = b.applyAsDouble(in);
                    return new ForwardBounds(x, x);
                }

                @Override
                public BackwardBounds backward(AttentionInputs in, double[] dOut) {
                    double x = b.applyAsDouble(in);
                    return new BackwardBounds(x, x, x, x);
                }
            };
        }
    }

    /**
     * The bounds this implementation is judged by: the spec's ({@link #specForwardBounds},
     * {@link #specBackwardBounds}) unless an implementation promises tighter ones and says why (here or in its
     * {@link Fixture}).
     */
    protected Bounds bounds() {
        Fixture f = fixture();
        Bounds promised = f == null ? null : f.bounds();
        if (promised != null) {
            return promised;
        }
        return new Bounds() {
            @Override
            public ForwardBounds forward(AttentionInputs in) {
                return specForwardBounds(in);
            }

            @Override
            public BackwardBounds backward(AttentionInputs in, double[] dOut) {
                return specBackwardBounds(in, dOut);
            }
        };
    }

    /** The bounds of a forward result on these inputs ({@link #bounds()}). @param in not modified */
    protected final ForwardBounds forwardBounds(AttentionInputs in) {
        return bounds().forward(in);
    }

    /** The bounds of a backward result ({@link #bounds()}). @param in not modified @param dOut not modified */
    protected final BackwardBounds backwardBounds(AttentionInputs in, double[] dOut) {
        return bounds().backward(in, dOut);
    }

    /**
     * The forward term-magnitude tensors of these inputs: o [B,S,Hq,D] and lse [B,S,Hq] (the others null).
     *
     * @param in inputs; not modified
     */
    protected static TermMagnitudes forwardTerms(AttentionInputs in) {
        return TermMagnitudes.forward(in);
    }

    /**
     * Every term-magnitude tensor of these inputs and dO (forward and backward).
     *
     * @param in   inputs; not modified
     * @param dOut [B,S,Hq,D]; not modified
     */
    protected static TermMagnitudes backwardTerms(AttentionInputs in, double[] dOut) {
        return TermMagnitudes.of(in, dOut);
    }

    /**
     * Elementwise max of two term tensors of the same sizes (two related inputs of a metamorphic comparison): its
     * norm is at least either side's, so each side's own allowance holds against it.
     *
     * @param a not modified
     * @param b not modified
     */
    protected static TermMagnitudes maxTerms(TermMagnitudes a, TermMagnitudes b) {
        return new TermMagnitudes(a.shape(), max(a.o(), b.o()), max(a.lse(), b.lse()), max(a.dq(), b.dq()),
                max(a.dk(), b.dk()), max(a.dv(), b.dv()), max(a.dRouterLogit(), b.dRouterLogit()));
    }

    /** Elementwise max; null if either is null. @param x not modified @param y not modified */
    private static double[] max(double[] x, double[] y) {
        if (x == null || y == null) {
            return null;
        }
        if (x.length != y.length) {
            throw new IllegalArgumentException("term tensors of different lengths: " + x.length + " vs " + y.length);
        }
        double[] m = new double[x.length];
        for (int n = 0; n < m.length; n++) {
            m[n] = Math.max(x[n], y[n]);
        }
        return m;
    }

    /**
     * The largest accepted errors of this implementation's forward result on these inputs, against the exact
     * result (the fp64 reference stands for it), as errors with the term-size allowance of {@link #forwardTerms}.
     *
     * @param in inputs; not modified
     */
    protected final ForwardBounds specForwardBounds(AttentionInputs in) {
        Precision p = implementation().precision();
        if (p == Precision.FP64) {
            double b = Tolerance.bound(p, 0, ScoreMagnitude.max(in));
            return new ForwardBounds(b, b);
        }
        ForwardResult naive = new NaiveAttention(p).forward(in);
        ForwardResult ref = reference().forward(in);
        TermMagnitudes t = forwardTerms(in);
        double m = ScoreMagnitude.max(in);
        return new ForwardBounds(Tolerance.bound(p, Checks.relativeError(naive.o(), ref.o(), Checks.norm(t.o())), m),
                Tolerance.bound(p, Checks.lseError(naive.lse(), ref.lse(), Checks.norm(t.lse())), m));
    }

    /**
     * The largest accepted normwise relative errors of this implementation's gradients on these inputs, with the
     * term-size allowance of {@link #backwardTerms}.
     *
     * @param in   inputs; not modified
     * @param dOut [B,S,Hq,D]; not modified
     */
    protected final BackwardBounds specBackwardBounds(AttentionInputs in, double[] dOut) {
        Precision p = implementation().precision();
        if (p == Precision.FP64) {
            double b = Tolerance.bound(p, 0, ScoreMagnitude.max(in));
            return new BackwardBounds(b, b, b, b);
        }
        BackwardResult naive = new NaiveAttention(p).backward(in, dOut);
        BackwardResult ref = reference().backward(in, dOut);
        TermMagnitudes t = backwardTerms(in, dOut);
        double m = ScoreMagnitude.max(in);
        return new BackwardBounds(
                Tolerance.bound(p, Checks.relativeError(naive.dq(), ref.dq(), Checks.norm(t.dq())), m),
                Tolerance.bound(p, Checks.relativeError(naive.dk(), ref.dk(), Checks.norm(t.dk())), m),
                Tolerance.bound(p, Checks.relativeError(naive.dv(), ref.dv(), Checks.norm(t.dv())), m),
                Tolerance.bound(p, Checks.relativeError(naive.dRouterLogit(), ref.dRouterLogit(),
                        Checks.norm(t.dRouterLogit())), m));
    }

    /**
     * The bound of a metamorphic comparison of the implementation with itself on related inputs: each side may
     * err by its own bound, so the sum of the two (twice the larger).
     *
     * @param a one side's inputs; not modified
     * @param b the other side's inputs; not modified
     */
    protected ForwardBounds selfBounds(AttentionInputs a, AttentionInputs b) {
        ForwardBounds fa = forwardBounds(a);
        return (a == b ? fa : fa.max(forwardBounds(b))).times(2);
    }

    // ----------------------------------------------------------------------------------------------------------
    // running the implementation

    /** Forward pass of the implementation, skipping unsupported inputs. @param in not modified */
    protected final ForwardResult forward(AttentionInputs in) {
        assumeSupported(in);
        return implementation().forward(in);
    }

    /** Backward pass of the implementation, skipping unsupported inputs. */
    protected final BackwardResult backward(AttentionInputs in, double[] dOut) {
        assumeSupported(in);
        return implementation().backward(in, dOut);
    }

    /**
     * Compares two forward results: O normwise relative, LSE by {@link Checks#lseError}, both with the term-size
     * allowance of terms (o and lse of the expected side's inputs, or {@link #maxTerms} of both sides).
     *
     * @param actual   not modified
     * @param expected not modified
     * @param terms    forward term tensors; not modified
     */
    protected static void sameForward(String what, ForwardResult actual, ForwardResult expected,
                                      ForwardBounds bounds, TermMagnitudes terms, Object context) {
        Checks.close(what + ": O", actual.o(), expected.o(), bounds.o(), Checks.norm(terms.o()), context);
        Checks.lseClose(what + ": LSE", actual.lse(), expected.lse(), bounds.lse(), Checks.norm(terms.lse()),
                context);
    }

    // ----------------------------------------------------------------------------------------------------------
    // named generators (AttentionArbitraries)

    /** General cases: every edge of {@link AttentionArbitraries}. */
    @Provide
    Arbitrary<AttentionCase> cases() {
        return AttentionArbitraries.cases();
    }

    /** Cases whose window cuts keys off some window-routed row. */
    @Provide
    Arbitrary<AttentionCase> windowCuttingCases() {
        return AttentionArbitraries.windowCuttingCases();
    }

    /** The estimators, equally likely. */
    @Provide
    Arbitrary<org.swiattn.spec.Estimator> estimators() {
        return AttentionArbitraries.estimators();
    }

    /** Medium sequences at the scale of GPU tiles (S up to 200). */
    @Provide
    Arbitrary<AttentionCase> mediumCases() {
        return AttentionArbitraries.mediumCases();
    }

    /** Tiny cases for finite differences. */
    @Provide
    Arbitrary<AttentionCase> tinyCases() {
        return AttentionArbitraries.tinyCases();
    }

    /** Cases small enough for the Dfp oracle. */
    @Provide
    Arbitrary<AttentionCase> oracleCases() {
        return AttentionArbitraries.oracleCases();
    }

    /** Target score magnitudes up to 1e4. */
    @Provide
    Arbitrary<Double> scoreMagnitudes() {
        return AttentionArbitraries.scoreMagnitudes();
    }
}
