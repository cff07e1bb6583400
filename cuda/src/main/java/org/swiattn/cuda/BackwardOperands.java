package org.swiattn.cuda;

import org.swiattn.cuda.driver.DeviceBuffer;

/**
 * The device operands of the backward kernels (dK/dV and dQ), in every precision: the tensors, the compacted
 * route and, per branch, the forward's row tensors. Nothing here is modified by a launch.
 *
 * <pre>{@code
 *   q, dO [B,S,Hq,D]    k, v [B,S,Hkv,D]    lists  the compacted route (a null count switches a branch off)
 *   full, window        per branch: lse, delta [B,S,Hq], coef [B,S] (null: 1)
 * }</pre>
 *
 * @param q      queries; not modified
 * @param k      keys; not modified
 * @param v      values; not modified
 * @param dO     dL/dO; not modified
 * @param lists  the rows of each branch; not modified
 * @param full   the full branch's row tensors; not modified
 * @param window the window branch's row tensors; not modified
 */
public record BackwardOperands(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer dO,
                               RouteCompaction.DeviceLists lists, Branch full, Branch window) {

    /**
     * One branch's forward rows: lse and {@code delta = c <dO, o>} of that branch, and its coefficient c per row.
     *
     * @param lse   [B,S,Hq]; not modified
     * @param delta [B,S,Hq]; not modified
     * @param coef  [B,S], or null for c = 1; not modified
     */
    public record Branch(DeviceBuffer lse, DeviceBuffer delta, DeviceBuffer coef) {
    }

    /**
     * The gradient through each token's selected branch (HARD, STRAIGHT_THROUGH, SELECTED_BRANCH): the routed
     * lists, one lse and delta for both branches (a token's row holds its own branch's values), c = 1.
     */
    public static BackwardOperands routed(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer dO,
                                          RouteCompaction.DeviceLists lists, DeviceBuffer lse, DeviceBuffer delta) {
        Branch b = new Branch(lse, delta, null);
        return new BackwardOperands(q, k, v, dO, lists, b, b);
    }

    /** The same operands over other lists (a branch switched off, say). */
    public BackwardOperands withLists(RouteCompaction.DeviceLists other) {
        return new BackwardOperands(q, k, v, dO, other, full, window);
    }

    /**
     * A backward kernel's argument list: q, k, v, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF,
     * coefW (the order of every backward kernel's signature), then {@code tail}.
     */
    public Object[] kernelArgs(Object... tail) {
        Object[] head = {q, k, v, dO, lists.listF(), lists.nF(), lists.listW(), lists.nW(), full.lse(), window.lse(),
            full.delta(), window.delta(), full.coef(), window.coef()};
        Object[] all = java.util.Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, all, head.length, tail.length);
        return all;
    }
}
