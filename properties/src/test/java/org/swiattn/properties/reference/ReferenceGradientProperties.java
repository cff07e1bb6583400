package org.swiattn.properties.reference;

import org.swiattn.properties.GradientProperties;
import org.swiattn.spec.SwitchAttention;

/** The gradient properties on the fp64 reference. */
class ReferenceGradientProperties extends GradientProperties {
    @Override
    protected SwitchAttention implementation() {
        return ReferenceUnderTest.INSTANCE;
    }
}
