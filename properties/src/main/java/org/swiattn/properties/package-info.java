/**
 * The SwiAttn property suite: jqwik properties that any implementation of the spec's Java contract
 * ({@link org.swiattn.spec.SwitchAttention}) runs against - the reference always, the CUDA implementation when a
 * GPU is present, any adapter a user writes.
 *
 * <p>Shape legend as in {@code org.swiattn.spec}: B batch, S sequence length, Hq query heads, Hkv key/value heads,
 * G = Hq/Hkv, D head dimension, w window. Tensors are flat row-major BSHD {@code double[]}.
 *
 * <pre>
 *   class                     what it checks                                           against
 *   ForwardProperties         routing, visibility, softmax, heads, rows, range         the spec's definitions and
 *                                                                                      the implementation itself
 *   GradientProperties        dQ, dK, dV, dL/da of every estimator                     finite differences, itself
 *   ValidationProperties      every bad input of SPEC section 9 is rejected, named     InvalidInputException
 *   ConformanceProperties     O, LSE, gradients                                        fp64 reference, EJML
 *   OracleProperties          O, LSE                                                   Dfp oracle (40 digits)
 *   SegmentProperties         spec 2.0: chunked prefill, decode, packed batches equal  the implementation itself
 *                             the one-shot / one-by-one calls; nothing crosses a       (bit for bit where it says
 *                             segment; cache slots beyond a length never matter        segmentsBitExact)
 *   SegmentValidationProperties  malformed segment metadata rejected, named; segment  InvalidInputException,
 *                             inputs refused where supportsSegments() is false         UnsupportedOperationException
 * </pre>
 * SegmentProperties run only where {@link org.swiattn.spec.SwitchAttention#supportsSegments()} answers true;
 * elsewhere each is skipped with that reason ({@link org.swiattn.properties.SegmentsSupported}).
 *
 * <p>Running it on an implementation: subclass each class above in a test source folder (names ending in
 * {@code Properties}, which the build's surefire configuration runs) and return the implementation from
 * {@code implementation()}; {@link org.swiattn.properties.AttentionPropertiesBase} explains the tolerance hooks.
 * The generators are in {@link org.swiattn.properties.AttentionArbitraries} and, for spec 2.0,
 * {@link org.swiattn.properties.SegmentArbitraries} (named, exposed with {@code @Provide});
 * {@link org.swiattn.properties.CaseStatistics} and {@link org.swiattn.properties.SegmentStatistics} prove their
 * edge cases occur. At the end of a test run {@link org.swiattn.properties.SummaryListener} prints the number of
 * properties and tries, the worst oracle error and the coverage counts ({@link org.swiattn.properties.SuiteSummary}),
 * and writes them to {@code target/swiattn-properties-summary.txt}.
 */
package org.swiattn.properties;
