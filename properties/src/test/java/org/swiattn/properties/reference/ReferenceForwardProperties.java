package org.swiattn.properties.reference;

import org.swiattn.properties.ForwardProperties;
import org.swiattn.properties.UnderTest;

/** The forward properties on the fp64 reference. */
@UnderTest(ReferenceUnderTest.class)
class ReferenceForwardProperties extends ForwardProperties {
}
