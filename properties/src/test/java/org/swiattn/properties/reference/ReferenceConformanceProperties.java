package org.swiattn.properties.reference;

import org.swiattn.properties.ConformanceProperties;
import org.swiattn.spec.SwitchAttention;

/** The conformance properties on the fp64 reference. */
class ReferenceConformanceProperties extends ConformanceProperties {
    @Override
    protected SwitchAttention implementation() {
        return ReferenceUnderTest.INSTANCE;
    }
}
