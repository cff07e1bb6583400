package org.swiattn.spec;

/**
 * The versions of spec/SPEC.md that this contract implements.
 *
 * <pre>
 *   VERSION  the normative document (computed values, conventions and the tolerance policy)
 *   VALUES   the version of the computed values alone; golden files carry it as their spec_version
 * </pre>
 * 1.1 changed only how errors are judged (the term-size allowance of the tolerance policy, SPEC.md section 10);
 * 2.0 added inputs (segments: chunked prefill, decode, packed batches, SPEC.md section 2.1) and left every 1.x
 * input's values as they were; 2.1 changed only how the checker judges (the term-size denominator for tensors that
 * fail by ||ref|| alone, SPEC.md sections 10 and 13.3). So every value a conforming implementation computes for a 1.x input, and so every
 * 1.x golden file, is the same as in 1.0.
 */
public final class SpecVersion {
    /** Normative specification version. */
    public static final String VERSION = "2.1";
    /**
     * The version of the computed values; golden files carry it ({@code spec_version} in their metadata and in the
     * manifest). 1.1 changed only how errors are judged, so the values, and the golden files, are still 1.0.
     */
    public static final String VALUES = "1.0";

    private SpecVersion() {
    }
}
