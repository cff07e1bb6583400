/**
 * The fp64 reference of SwiAttn, written to be read next to spec/SPEC.md (reference/README.md gives the tour).
 *
 * <p>Shape legend (as in {@code org.swiattn.spec}): B batch, Sq query rows and Sk key rows per batch row, Hq query
 * heads, Hkv key/value heads, G = Hq/Hkv, D head dim, w window, R selected rows. Q/O/dQ/dO are [B*Sq,Hq,D],
 * K/V/dK/dV are [B*Sk,Hkv,D], LSE is [B*Sq,Hq], the route and router logits are [B*Sq].
 *
 * <ul>
 *   <li>{@link org.swiattn.reference.PlainAttention} - the definition, in plain fp64 loops: read it first.</li>
 *   <li>{@link org.swiattn.reference.ReferenceAttention} - the reference: forward, backward, row subsets, to a
 *       few ulps.</li>
 *   <li>{@link org.swiattn.reference.BranchRow} - one query row on one branch (forward and backward):
 *       the whole mechanism in two functions.</li>
 *   <li>{@link org.swiattn.reference.AccurateMath} - compensated dot products and sums (Dot2 / TwoSum).</li>
 *   <li>{@link org.swiattn.reference.MatrixAttention} - an independent matrix formulation with EJML.</li>
 *   <li>{@link org.swiattn.reference.DfpOracle} - arbitrary precision (Commons Math Dfp) forward oracle.</li>
 *   <li>{@link org.swiattn.reference.NaiveAttention} - the naive same-precision yardstick of the tolerance
 *       policy (fp64, fp32, bf16).</li>
 *   <li>{@link org.swiattn.reference.TermMagnitudes} - the term-magnitude tensors T of the tolerance policy
 *       (spec 1.1: errors are measured against max(||ref||, ||T||)).</li>
 *   <li>{@link org.swiattn.reference.ScoreMagnitude} - M = max |s| of the fp64 tolerance.</li>
 * </ul>
 */
package org.swiattn.reference;
