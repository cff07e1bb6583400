package org.swiattn.properties.reference;

import org.swiattn.properties.OracleProperties;
import org.swiattn.properties.UnderTest;
import org.swiattn.spec.AttentionInputs;

/**
 * The oracle properties on the fp64 reference, with the reference's own promise as the bound: normwise relative
 * error at most 1e-14 against the Dfp oracle (compensated dot products and sums, max-subtracted softmax), far
 * tighter than the 1e-12 * max(1, M) that the tolerance policy asks of other fp64 implementations.
 */
@UnderTest(ReferenceUnderTest.class)
class ReferenceOracleProperties extends OracleProperties {
    /** The reference's promised accuracy against the exact result. */
    static final double REFERENCE_ORACLE_BOUND = 1e-14;

    @Override
    protected ForwardBounds oracleBound(AttentionInputs in) {
        return new ForwardBounds(REFERENCE_ORACLE_BOUND, REFERENCE_ORACLE_BOUND);
    }
}
