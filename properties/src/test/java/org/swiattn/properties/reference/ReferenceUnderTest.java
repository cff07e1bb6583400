package org.swiattn.properties.reference;

import org.swiattn.reference.ReferenceAttention;

/** The reference instance the suite runs on (single-threaded: the test machine has two cores and tiny cases). */
final class ReferenceUnderTest {
    static final ReferenceAttention INSTANCE = new ReferenceAttention(false);

    private ReferenceUnderTest() {
    }
}
