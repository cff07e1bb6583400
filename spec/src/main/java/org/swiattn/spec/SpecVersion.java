package org.swiattn.spec;

/** The version of spec/SPEC.md that this contract implements. Golden files carry it in their metadata. */
public final class SpecVersion {
    /** Normative specification version. */
    public static final String VERSION = "1.0";

    private SpecVersion() {
    }
}
