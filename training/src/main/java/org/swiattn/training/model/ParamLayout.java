package org.swiattn.training.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each named tensor lives in the flat parameter vector [P] of a decoder (and in its gradient).
 *
 * <pre>
 *   tok_emb            [V,C]
 *   per layer l (name prefix "l{l}."):
 *     attn_norm        [C]        RMSNorm gain before attention
 *     wq [C,Hq*D]  wk [C,Hkv*D]  wv [C,Hkv*D]  wo [Hq*D,C]
 *     router_w [C]  router_b [1]  (hybrid checkpoints only)
 *     mlp_norm         [C]        RMSNorm gain before the MLP
 *     w1 [C,F]  w2 [F,C]
 *   final_norm         [C]
 *   lm_head            [C,V]
 * </pre>
 * The order above is the order in the vector; names and order are stable (golden files use them).
 */
public final class ParamLayout {

    /** One named tensor: its offset in [P], its shape, its element count. */
    public record Entry(String name, int offset, int[] shape, int size) {
    }

    /** Offsets of one layer's tensors (router offsets are -1 in a non-hybrid layout). */
    public record LayerOffsets(int attnNorm, int wq, int wk, int wv, int wo, int routerW, int routerB, int mlpNorm,
                               int w1, int w2) {
    }

    private final ModelConfig config;
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final LayerOffsets[] layers;
    private final int size;

    public ParamLayout(ModelConfig config) {
        this.config = config;
        int c = config.width();
        int[] at = {0};
        add("tok_emb", at, config.vocab(), c);
        layers = new LayerOffsets[config.layers()];
        for (int l = 0; l < config.layers(); l++) {
            String p = "l" + l + ".";
            int an = add(p + "attn_norm", at, c);
            int wq = add(p + "wq", at, c, config.qWidth());
            int wk = add(p + "wk", at, c, config.kvWidth());
            int wv = add(p + "wv", at, c, config.kvWidth());
            int wo = add(p + "wo", at, config.qWidth(), c);
            int rw = -1;
            int rb = -1;
            if (config.hybrid()) {
                rw = add(p + "router_w", at, c);
                rb = add(p + "router_b", at, 1);
            }
            int mn = add(p + "mlp_norm", at, c);
            int w1 = add(p + "w1", at, c, config.mlpHidden());
            int w2 = add(p + "w2", at, config.mlpHidden(), c);
            layers[l] = new LayerOffsets(an, wq, wk, wv, wo, rw, rb, mn, w1, w2);
        }
        add("final_norm", at, c);
        add("lm_head", at, c, config.vocab());
        size = at[0];
    }

    private int add(String name, int[] at, int... shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        entries.put(name, new Entry(name, at[0], shape.clone(), n));
        int off = at[0];
        at[0] += n;
        return off;
    }

    public ModelConfig config() {
        return config;
    }

    /** P, the number of parameters. */
    public int size() {
        return size;
    }

    /** The entry of a name; throws naming the unknown name. */
    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException("name: no parameter named '" + name + "' in this layout");
        }
        return e;
    }

    public boolean has(String name) {
        return entries.containsKey(name);
    }

    /** All entries in vector order. */
    public List<Entry> entries() {
        return Collections.unmodifiableList(new ArrayList<>(entries.values()));
    }

    public LayerOffsets layer(int l) {
        return layers[l];
    }

    public int tokEmb() {
        return 0;
    }

    public int finalNorm() {
        return entry("final_norm").offset();
    }

    public int lmHead() {
        return entry("lm_head").offset();
    }

    /** Whether a parameter index belongs to a router tensor. */
    public boolean isRouter(int index) {
        for (LayerOffsets lo : layers) {
            if (lo.routerW() >= 0 && index >= lo.routerW() && index < lo.routerB() + 1) {
                return true;
            }
        }
        return false;
    }

    /** Whether a parameter index belongs to a matrix (embedding, projections, head): these get weight decay. */
    public boolean isMatrix(int index) {
        for (Entry e : entries.values()) {
            if (index >= e.offset() && index < e.offset() + e.size()) {
                return e.shape().length == 2;
            }
        }
        throw new IllegalArgumentException("index: " + index + " is outside [0, " + size + ")");
    }
}
