package org.swiattn.properties.reference;

import org.swiattn.properties.SegmentProperties;
import org.swiattn.properties.UnderTest;

/**
 * The spec 2.0 segment properties on the fp64 reference, bit for bit: the reference computes each query row from
 * its visible keys alone, in key order, and each key's gradient over its queries in order, whatever else the call
 * holds.
 */
@UnderTest(ReferenceUnderTest.class)
class ReferenceSegmentProperties extends SegmentProperties {
    @Override
    protected boolean segmentsBitExact() {
        return true;
    }
}
