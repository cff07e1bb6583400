/**
 * Training side of SwiAttn (spec/SPEC.md sections "Router", "Adaptive regularizer", "Transfer"): the router, the
 * adaptive regularizer, the transfer procedure and a small fp64 decoder with hand-written backward for continual
 * pretraining.
 *
 * <p>Shape legend (adds to the one of {@code org.swiattn.spec}):
 * <pre>
 *   L   layers                 N   rows = B*S (one row per (batch, token)), r = b*S + i
 *   C   model width            F   MLP hidden width           V   vocabulary size
 *   P   number of parameters of a model (flat vector, see {@code model.ParamLayout})
 * </pre>
 * Every tensor is a flat row-major {@code double[]}; a matrix W [in,out] multiplies from the right: y = x W.
 *
 * <p>What is the paper's and what is ours: the hybrid layer, the router on the normalized input, the hard routing,
 * the adaptive (Lagrangian) regularizer toward a target full ratio and the transfer from a full checkpoint follow
 * Zhao et al. (2026); the estimators, the COST measure, the exact Lagrangian form, the warm-up, the budgets and every
 * default value are our documented choices (see spec/SPEC.md, sections 11 and 12).
 */
package org.swiattn.training;
