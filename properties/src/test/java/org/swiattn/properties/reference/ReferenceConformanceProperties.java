package org.swiattn.properties.reference;

import org.swiattn.properties.ConformanceProperties;
import org.swiattn.properties.UnderTest;

/** The conformance properties on the fp64 reference. */
@UnderTest(ReferenceUnderTest.class)
class ReferenceConformanceProperties extends ConformanceProperties {
}
