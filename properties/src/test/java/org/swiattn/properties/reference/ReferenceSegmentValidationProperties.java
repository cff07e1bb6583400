package org.swiattn.properties.reference;

import org.swiattn.properties.SegmentValidationProperties;
import org.swiattn.spec.SwitchAttention;

/** The spec 2.0 validation properties on the fp64 reference. */
class ReferenceSegmentValidationProperties extends SegmentValidationProperties {
    @Override
    protected SwitchAttention implementation() {
        return ReferenceUnderTest.INSTANCE;
    }
}
