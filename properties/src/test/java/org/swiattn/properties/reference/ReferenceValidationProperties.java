package org.swiattn.properties.reference;

import org.swiattn.properties.ValidationProperties;
import org.swiattn.properties.UnderTest;

/** The validation properties on the fp64 reference. */
@UnderTest(ReferenceUnderTest.class)
class ReferenceValidationProperties extends ValidationProperties {
}
