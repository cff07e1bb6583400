package org.swiattn.properties.reference;

import org.swiattn.properties.GradientProperties;
import org.swiattn.properties.UnderTest;

/** The gradient properties on the fp64 reference. */
@UnderTest(ReferenceUnderTest.class)
class ReferenceGradientProperties extends GradientProperties {
}
