package org.swiattn.properties.reference;

import org.swiattn.properties.ForwardProperties;
import org.swiattn.spec.SwitchAttention;

/** The forward properties on the fp64 reference. */
class ReferenceForwardProperties extends ForwardProperties {
    @Override
    protected SwitchAttention implementation() {
        return ReferenceUnderTest.INSTANCE;
    }
}
