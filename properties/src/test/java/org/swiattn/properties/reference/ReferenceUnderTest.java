package org.swiattn.properties.reference;

import org.swiattn.properties.Fixture;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.SwitchAttention;

/**
 * The reference instance the suite runs on (single-threaded: the test machine has two cores and tiny cases), the
 * fixture of the Reference*Properties classes at the spec's fp64 tolerance.
 */
final class ReferenceUnderTest implements Fixture {
    static final ReferenceAttention INSTANCE = new ReferenceAttention(false);

    private ReferenceUnderTest() {
    }

    @Override
    public SwitchAttention implementation() {
        return INSTANCE;
    }
}
