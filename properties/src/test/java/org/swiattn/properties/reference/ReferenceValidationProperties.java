package org.swiattn.properties.reference;

import org.swiattn.properties.ValidationProperties;
import org.swiattn.spec.SwitchAttention;

/** The validation properties on the fp64 reference. */
class ReferenceValidationProperties extends ValidationProperties {
    @Override
    protected SwitchAttention implementation() {
        return ReferenceUnderTest.INSTANCE;
    }
}
