package org.swiattn.properties;

import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;

import org.swiattn.reference.DfpOracle;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;

/**
 * The implementation agrees with the arbitrary-precision oracle ({@link DfpOracle}, 40 decimal digits, the exact
 * result rounded to double) on small cases, with the term-size allowance of spec 1.1 ({@link #forwardTerms}). The
 * worst errors seen (O normwise relative, LSE by {@link Checks#lseError}) go to the suite summary.
 *
 * <p>The bound is {@link #oracleBound}: by default the implementation's tolerance ({@link #forwardBounds}); the
 * reference's own run tightens it to the 1e-14 that the reference promises.
 */
public abstract class OracleProperties extends AttentionPropertiesBase {

    private static final DfpOracle ORACLE = new DfpOracle(40);

    /** The accepted error against the oracle on these inputs. @param in not modified */
    protected ForwardBounds oracleBound(AttentionInputs in) {
        return forwardBounds(in);
    }

    /** O and LSE agree with the Dfp oracle for every route, window and estimator. */
    @Property(tries = 150)
    @Label("forward agrees with the Dfp oracle")
    void forwardAgreesWithTheDfpOracle(@ForAll("oracleCases") AttentionCase c) {
        CaseStatistics.record("D", CaseStatistics.headDimCategory(c.shape().headDim()));
        CaseStatistics.collectEstimator(c.estimator());
        AttentionInputs in = c.inputs();
        ForwardResult r = forward(in);
        ForwardResult exact = ORACLE.forward(in);
        org.swiattn.reference.TermMagnitudes t = forwardTerms(in);
        double eo = Checks.relativeError(r.o(), exact.o(), Checks.norm(t.o()));
        double el = Checks.lseError(r.lse(), exact.lse(), Checks.norm(t.lse()));
        SuiteSummary.oracleError(eo, el, c);
        ForwardBounds b = oracleBound(in);
        Checks.close("O vs Dfp oracle", r.o(), exact.o(), b.o(), Checks.norm(t.o()), c);
        Checks.lseClose("LSE vs Dfp oracle", r.lse(), exact.lse(), b.lse(), Checks.norm(t.lse()), c);
        if (implementation().precision() == Precision.FP64) {
            net.jqwik.api.statistics.Statistics.label("oracle error O").collect(
                    eo == 0 ? "0" : eo < 1e-16 ? "<1e-16" : eo < 1e-15 ? "<1e-15" : eo < 1e-14 ? "<1e-14" : ">=1e-14");
        }
    }
}
