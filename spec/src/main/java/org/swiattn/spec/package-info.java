/**
 * The Java contract of the SwiAttn specification (spec/SPEC.md, version {@link org.swiattn.spec.SpecVersion#VERSION}).
 *
 * <p>Shape legend, used in every shape comment of the project:
 * <pre>{@code
 *   B   batch size                 S   sequence length (self-attention: queries and keys share positions 0..S-1)
 *   Sq  query rows per batch row   Sk  key rows per batch row (Sq = Sk = S in self-attention; the cache capacity
 *                                      in decode)
 *   Hq  query heads                Hkv key/value heads, Hq % Hkv == 0, G = Hq / Hkv
 *   D   head dimension             w   window size of the sliding-window branch (w >= 1)
 *   R   number of selected query rows (row-subset evaluation), r = b*Sq + i a flat query row
 *   p   a query's position inside its segment (Segments), k0 the first key row of that segment
 * }</pre>
 * Tensors are flat {@code double[]} in row-major BSHD order: Q, O, dQ, dO are [B,Sq,Hq,D]; K, V, dK, dV are
 * [B,Sk,Hkv,D]; LSE is [B,Sq,Hq]; the route and the router logits are [B,Sq]. Which key rows each query row sees
 * is said by {@link org.swiattn.spec.Segments} (spec 2.0): self-attention prefill, chunked prefill, decode against
 * a KV cache and packed variable-length batches.
 *
 * <p>Validation of every argument lives here once ({@link org.swiattn.spec.AttentionInputs}), so every
 * implementation rejects bad input identically, with an {@link org.swiattn.spec.InvalidInputException} that names
 * the argument and the offending value or index.
 */
package org.swiattn.spec;
