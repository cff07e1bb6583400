package org.swiattn.properties.reference;

import org.swiattn.properties.SegmentValidationProperties;
import org.swiattn.properties.UnderTest;

/** The spec 2.0 validation properties on the fp64 reference. */
@UnderTest(ReferenceUnderTest.class)
class ReferenceSegmentValidationProperties extends SegmentValidationProperties {
}
