/**
 * The Java contract of the SwiAttn specification (spec/SPEC.md, version {@link org.swiattn.spec.SpecVersion#VERSION}).
 *
 * <p>Shape legend, used in every shape comment of the project:
 * <pre>
 *   B   batch size                 S   sequence length (queries and keys share positions 0..S-1)
 *   Hq  query heads                Hkv key/value heads, Hq % Hkv == 0, G = Hq / Hkv
 *   D   head dimension             w   window size of the sliding-window branch (w >= 1)
 *   R   number of selected query rows (row-subset evaluation), r = b*S + i a flat row index
 * </pre>
 * Tensors are flat {@code double[]} in row-major BSHD order: Q, O, dQ, dO are [B,S,Hq,D]; K, V, dK, dV are
 * [B,S,Hkv,D]; LSE is [B,S,Hq]; the route and the router logits are [B,S].
 *
 * <p>Validation of every argument lives here once ({@link org.swiattn.spec.AttentionInputs}), so every
 * implementation rejects bad input identically, with an {@link org.swiattn.spec.InvalidInputException} that names
 * the argument and the offending value or index.
 */
package org.swiattn.spec;
