package org.swiattn.properties;

import java.util.function.Predicate;

import net.jqwik.api.statistics.Statistics;

import org.swiattn.spec.Segments;

/**
 * Statistics of the spec 2.0 generators ({@link SegmentArbitraries}) and the coverage checks that prove their
 * edges are really generated. Labels (one value each per try, or per segment / sequence where it says so):
 * <pre>
 *   packed cases
 *     "layout"              PACKED_SELF | PACKED | KV_CACHE | GAPS
 *     "segments"            1 | 2 | >2
 *     "shortest segment"    kLen=1 | kLen=2..4 | kLen>4                  (over segments with keys)
 *     "w vs segments"       w>every segment | w>some segment | w<=every segment
 *     "query rows"          a segment with qLen=0 | qLen<kLen | qLen=kLen in every segment   (first that applies)
 *     "unused key rows"     none | some
 *     "cache length"        len<w | len=w | len=w+1 | len>w+1           (per sequence of KV_CACHE cases)
 *     "new rows"            Sq=1 (decode) | Sq>1                         (KV_CACHE cases)
 *   chunked prefills
 *     "chunks"              1 | 2 | >2
 *     "chunk boundary"      c=w-1 | c=w | c=w+1 | other                  (per boundary inside (0, S))
 *     "chunk length"        1 | w | other                                (per chunk)
 *     "cache"               tight | padded
 *   decode steps
 *     "cache length"        len<w | len=w | len=w+1 | len>w+1            (per sequence)
 *     "decoded token"       full | window                                (per sequence)
 * </pre>
 */
public final class SegmentStatistics {
    private SegmentStatistics() {
    }

    /** The category of a cache length against w. */
    public static String cacheLengthCategory(long len, long w) {
        return len < w ? "len<w" : len == w ? "len=w" : len == w + 1 ? "len=w+1" : "len>w+1";
    }

    /** Collects the categories of a packed case. */
    public static void collect(SegmentCase c) {
        Segments seg = c.segments();
        int n = seg.count();
        CaseStatistics.record("layout", c.layout().name());
        CaseStatistics.record("segments", n == 1 ? "1" : n == 2 ? "2" : ">2");
        int shortest = Integer.MAX_VALUE;
        int above = 0;
        int withKeys = 0;
        boolean noQueries = false;
        boolean fewerQueries = false;
        for (int s = 0; s < n; s++) {
            if (seg.kLen(s) > 0) {
                withKeys++;
                shortest = Math.min(shortest, seg.kLen(s));
                above += c.window() > seg.kLen(s) ? 1 : 0;
            }
            noQueries |= seg.qLen(s) == 0;
            fewerQueries |= seg.qLen(s) < seg.kLen(s);
        }
        CaseStatistics.record("shortest segment", shortest == 1 ? "kLen=1" : shortest <= 4 ? "kLen=2..4" : "kLen>4");
        CaseStatistics.record("w vs segments", above == withKeys ? "w>every segment"
                : above > 0 ? "w>some segment" : "w<=every segment");
        CaseStatistics.record("query rows", noQueries ? "a segment with qLen=0" : fewerQueries ? "qLen<kLen"
                : "qLen=kLen in every segment");
        CaseStatistics.record("unused key rows", c.unusedKeyRows() == 0 ? "none" : "some");
        if (c.layout() == SegmentCase.Layout.KV_CACHE) {
            CaseStatistics.record("new rows", c.shape().seqLen() == 1 ? "Sq=1 (decode)" : "Sq>1");
            for (int s = 0; s < n; s++) {
                CaseStatistics.record("cache length", cacheLengthCategory(seg.kLen(s), c.window()));
            }
        }
    }

    /** Collects the categories of a chunked prefill. */
    public static void collect(ChunkedPrefill p) {
        int n = p.count();
        long w = p.prefill().window();
        CaseStatistics.record("chunks", n == 1 ? "1" : n == 2 ? "2" : ">2");
        for (int t = 0; t < n; t++) {
            int len = p.ends()[t] - p.start(t);
            CaseStatistics.record("chunk length", len == 1 ? "1" : len == w ? "w" : "other");
            if (t > 0) {
                long c = p.start(t);
                CaseStatistics.record("chunk boundary", c == w - 1 ? "c=w-1" : c == w ? "c=w" : c == w + 1 ? "c=w+1"
                        : "other");
            }
        }
        CaseStatistics.record("cache", p.padded() ? "padded" : "tight");
    }

    /** Collects the categories of a decode step. */
    public static void collect(DecodeStep d) {
        int[] rows = d.queryRows();
        for (int b = 0; b < rows.length; b++) {
            CaseStatistics.record("cache length", cacheLengthCategory(d.positions()[b] + 1L, d.prefill().window()));
            CaseStatistics.record("decoded token", d.prefill().route().isFull(rows[b]) ? "full" : "window");
        }
    }

    /** Requires every named value of a label to have occurred at least once in this property. */
    static void require(String label, String... values) {
        Statistics.label(label).coverage(cov -> {
            for (String v : values) {
                cov.check(v).count((Predicate<Integer>) k -> k > 0);
            }
        });
    }

    /** Coverage of the packed-case edges (call in a property that collects packed cases). */
    public static void checkPackedCoverage() {
        require("layout", "PACKED_SELF", "PACKED", "KV_CACHE", "GAPS");
        require("segments", "1", "2", ">2");
        require("shortest segment", "kLen=1", "kLen=2..4", "kLen>4");
        require("w vs segments", "w>every segment", "w>some segment", "w<=every segment");
        require("query rows", "a segment with qLen=0", "qLen<kLen", "qLen=kLen in every segment");
        require("unused key rows", "none", "some");
        require("cache length", "len<w", "len=w", "len=w+1", "len>w+1");
        require("new rows", "Sq=1 (decode)", "Sq>1");
    }

    /** Coverage of the chunked-prefill edges. */
    public static void checkChunkCoverage() {
        require("chunks", "1", "2", ">2");
        require("chunk boundary", "c=w-1", "c=w", "c=w+1", "other");
        require("chunk length", "1", "w", "other");
        require("cache", "tight", "padded");
    }

    /** Coverage of the decode-step edges. */
    public static void checkDecodeCoverage() {
        require("cache length", "len<w", "len=w", "len=w+1", "len>w+1");
        require("decoded token", "full", "window");
    }
}
