/**
 * The fp64 reference of SwiAttn, written to be read next to spec/SPEC.md.
 *
 * <p>Shape legend (as in {@code org.swiattn.spec}): B batch, S sequence, Hq query heads, Hkv key/value heads,
 * G = Hq/Hkv, D head dim, w window, R selected rows. Q/O/dQ/dO are [B,S,Hq,D], K/V/dK/dV are [B,S,Hkv,D],
 * LSE is [B,S,Hq], the route and router logits are [B,S].
 *
 * <ul>
 *   <li>{@link org.swiattn.reference.ReferenceAttention} - the reference: forward, backward, row subsets.</li>
 *   <li>{@link org.swiattn.reference.BranchRow} - one query row on one branch (forward and backward):
 *       the whole mechanism in two functions.</li>
 *   <li>{@link org.swiattn.reference.AccurateMath} - compensated dot products and sums (Dot2 / TwoSum).</li>
 *   <li>{@link org.swiattn.reference.MatrixAttention} - an independent matrix formulation with EJML.</li>
 *   <li>{@link org.swiattn.reference.DfpOracle} - arbitrary precision (Commons Math Dfp) forward oracle.</li>
 *   <li>{@link org.swiattn.reference.NaiveAttention} - the naive same-precision yardstick of the tolerance
 *       policy (fp64, fp32, bf16).</li>
 *   <li>{@link org.swiattn.reference.TermMagnitudes} - the term-magnitude tensors T of the tolerance policy
 *       (spec 1.1: errors are measured against max(||ref||, ||T||)).</li>
 * </ul>
 */
package org.swiattn.reference;
