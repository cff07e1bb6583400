package org.swiattn.golden;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A plain-text table with aligned columns (numbers right-aligned), for the command's reports. */
public final class TextTable {
    private final String[] header;
    private final List<String[]> rows = new ArrayList<>();

    public TextTable(String... header) {
        this.header = header;
    }

    /** Adds a row; cells are formatted with {@link #cell}. */
    public TextTable row(Object... cells) {
        String[] r = new String[header.length];
        for (int c = 0; c < header.length; c++) {
            r[c] = c < cells.length ? cell(cells[c]) : "";
        }
        rows.add(r);
        return this;
    }

    /** Doubles in %.3e (0 as 0), booleans as PASS / FAIL, everything else as toString. */
    public static String cell(Object o) {
        if (o instanceof Double d) {
            if (d == 0.0) {
                return "0";
            }
            return Double.isFinite(d) ? String.format(Locale.ROOT, "%.3e", d) : d.toString();
        }
        if (o instanceof Boolean b) {
            return b ? "PASS" : "FAIL";
        }
        return String.valueOf(o);
    }

    @Override
    public String toString() {
        int[] w = new int[header.length];
        for (int c = 0; c < header.length; c++) {
            w[c] = header[c].length();
            for (String[] r : rows) {
                w[c] = Math.max(w[c], r[c].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, header, w, false);
        StringBuilder rule = new StringBuilder();
        for (int c = 0; c < w.length; c++) {
            rule.append(c > 0 ? "  " : "").append("-".repeat(w[c]));
        }
        sb.append(rule).append('\n');
        for (String[] r : rows) {
            line(sb, r, w, true);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String[] cells, int[] w, boolean alignNumbers) {
        StringBuilder l = new StringBuilder();
        for (int c = 0; c < cells.length; c++) {
            if (c > 0) {
                l.append("  ");
            }
            boolean numeric = alignNumbers && cells[c].matches("-?[0-9.]+(e[-+][0-9]+)?|NaN|-?Infinity");
            String pad = " ".repeat(w[c] - cells[c].length());
            l.append(numeric ? pad + cells[c] : cells[c] + pad);
        }
        sb.append(l.toString().stripTrailing()).append('\n');
    }
}
