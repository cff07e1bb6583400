package org.swiattn.training.demo;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.swiattn.golden.SafeFiles;

/**
 * The demo's PNG (java.awt, headless): four panels.
 * <pre>
 *   (a) training loss per step: full pretraining, then window-only and SwiAttn continual pretraining
 *   (b) held-out accuracy of full, window (zero-shot and trained) and SwiAttn
 *   (c) SwiAttn full ratio per layer during continual pretraining, with the target schedule
 *   (d) which positions the router sends to the full branch, per layer (held-out set)
 * </pre>
 */
final class DemoPlot {
    private static final Color[] LAYER = {new Color(0xD62728), new Color(0x1F77B4), new Color(0x2CA02C),
        new Color(0x9467BD), new Color(0x8C564B), new Color(0xE377C2)};
    private static final Color FULL = new Color(0x333333);
    private static final Color WINDOW = new Color(0xFF7F0E);
    private static final Color SWI = new Color(0x1F77B4);

    private DemoPlot() {
    }

    static void write(TransferDemo.Report r, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 1400;
        int h = 1000;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        int pw = w / 2;
        int ph = h / 2;
        lossPanel(g, r, 0, 0, pw, ph);
        accuracyPanel(g, r, pw, 0, pw, ph);
        ratioPanel(g, r, 0, ph, pw, ph);
        positionPanel(g, r, pw, ph, pw, ph);
        g.dispose();
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        SafeFiles.writeBytes(file, png.toByteArray());
    }

    /** A plotting frame: maps data (x, y) to pixels inside a panel's margins. */
    private record Frame(int x0, int y0, int w, int h, double xmin, double xmax, double ymin, double ymax) {
        int px(double x) {
            return (int) Math.round(x0 + (x - xmin) / (xmax - xmin) * w);
        }

        int py(double y) {
            return (int) Math.round(y0 + h - (y - ymin) / (ymax - ymin) * h);
        }
    }

    private static Frame frame(Graphics2D g, int x, int y, int w, int h, String title, String xl, String yl,
                               double xmin, double xmax, double ymin, double ymax) {
        return frame(g, x, y, w, h, title, xl, yl, xmin, xmax, ymin, ymax, true);
    }

    private static Frame frame(Graphics2D g, int x, int y, int w, int h, String title, String xl, String yl,
                               double xmin, double xmax, double ymin, double ymax, boolean xTicks) {
        Frame f = new Frame(x + 70, y + 45, w - 110, h - 100, xmin, xmax, ymin, ymax);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, x + 70, y + 28);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawRect(f.x0(), f.y0(), f.w(), f.h());
        for (int k = 0; k <= 4; k++) {
            double yv = ymin + (ymax - ymin) * k / 4;
            int py = f.py(yv);
            g.setColor(new Color(0xE0E0E0));
            g.drawLine(f.x0() + 1, py, f.x0() + f.w() - 1, py);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.2f", yv), x + 28, py + 4);
            double xv = xmin + (xmax - xmin) * k / 4;
            if (!xTicks) {
                continue;
            }
            g.drawString(String.format(Locale.ROOT, "%.0f", xv), f.px(xv) - 10, f.y0() + f.h() + 16);
        }
        g.drawString(xl, f.x0() + f.w() / 2 - 30, f.y0() + f.h() + 34);
        g.rotate(-Math.PI / 2);
        g.drawString(yl, -(f.y0() + f.h() / 2 + 30), x + 16);
        g.rotate(Math.PI / 2);
        return f;
    }

    private static void polyline(Graphics2D g, Frame f, double[] xs, double[] ys, Color c, float width) {
        g.setColor(c);
        g.setStroke(new BasicStroke(width));
        for (int k = 1; k < xs.length; k++) {
            if (!Double.isNaN(ys[k - 1]) && !Double.isNaN(ys[k])) {
                g.drawLine(f.px(xs[k - 1]), f.py(clamp(ys[k - 1], f)), f.px(xs[k]), f.py(clamp(ys[k], f)));
            }
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static double clamp(double y, Frame f) {
        return Math.max(f.ymin(), Math.min(f.ymax(), y));
    }

    private static void legend(Graphics2D g, Frame f, String[] names, Color[] colors) {
        int y = f.y0() + 16;
        for (int k = 0; k < names.length; k++) {
            g.setColor(colors[k]);
            g.fillRect(f.x0() + f.w() - 330, y - 9, 14, 10);
            g.setColor(Color.BLACK);
            g.drawString(names[k], f.x0() + f.w() - 310, y);
            y += 16;
        }
    }

    private static void lossPanel(Graphics2D g, TransferDemo.Report r, int x, int y, int w, int h) {
        List<TransferDemo.LogRow> log = r.log();
        int n1 = r.options().pretrainSteps();
        double ymax = 0;
        for (TransferDemo.LogRow row : log) {
            ymax = Math.max(ymax, row.loss());
        }
        Frame f = frame(g, x, y, w, h, "(a) training loss (query positions)", "step", "cross entropy", 0,
                n1 + r.options().cptSteps(), 0, Math.ceil(ymax));
        String[] phases = {"full", "window", "swiattn"};
        Color[] colors = {FULL, WINDOW, SWI};
        for (int p = 0; p < 3; p++) {
            String ph = phases[p];
            List<TransferDemo.LogRow> rows = log.stream().filter(q -> q.phase().equals(ph)).toList();
            double[] xs = new double[rows.size()];
            double[] ys = new double[rows.size()];
            for (int k = 0; k < rows.size(); k++) {
                xs[k] = rows.get(k).step() + (p == 0 ? 0 : n1);
                ys[k] = rows.get(k).loss();
            }
            polyline(g, f, xs, ys, colors[p], 1.6f);
        }
        g.setColor(Color.GRAY);
        g.drawLine(f.px(n1), f.y0(), f.px(n1), f.y0() + f.h());
        g.drawString("transfer", f.px(n1) + 4, f.y0() + f.h() - 6);
        legend(g, f, new String[]{"full attention (pretraining)", "window only (from checkpoint)",
            "SwiAttn (transfer + CPT)"}, colors);
    }

    private static void accuracyPanel(Graphics2D g, TransferDemo.Report r, int x, int y, int w, int h) {
        TransferDemo.Eval[] ev = {r.full(), r.windowZeroShot(), r.window(), r.swiattn()};
        String[] names = {"full", "window 0-shot", "window trained", "SwiAttn"};
        Color[] colors = {FULL, WINDOW.brighter(), WINDOW, SWI};
        Frame f = frame(g, x, y, w, h, "(b) held-out accuracy, loss and attention compute vs full", "",
                "accuracy", 0, 4, 0, 1, false);
        for (int k = 0; k < ev.length; k++) {
            int bx = f.px(k + 0.15);
            int bw = f.px(k + 0.85) - bx;
            int top = f.py(ev[k].accuracy());
            g.setColor(colors[k]);
            g.fillRect(bx, top, bw, f.y0() + f.h() - top);
            g.setColor(Color.BLACK);
            g.drawString(names[k], bx, f.y0() + f.h() + 18);
            boolean inside = top - 40 < f.y0();
            int ty = inside ? top + 16 : top - 34;
            g.setColor(inside ? Color.WHITE : Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "acc %.3f", ev[k].accuracy()), bx + 4, ty);
            g.drawString(String.format(Locale.ROOT, "loss %.3f", ev[k].loss()), bx + 4, ty + 14);
            g.drawString(String.format(Locale.ROOT, "compute %.2f", ev[k].meanCostRatio()), bx + 4, ty + 28);
        }
        double chance = 1.0 / r.options().task().values();
        g.setColor(Color.GRAY);
        g.drawLine(f.x0(), f.py(chance), f.x0() + f.w(), f.py(chance));
        g.drawString("chance 1/nV", f.x0() + 4, f.py(chance) - 4);
    }

    private static void ratioPanel(Graphics2D g, TransferDemo.Report r, int x, int y, int w, int h) {
        List<TransferDemo.LogRow> rows = r.log().stream().filter(q -> q.phase().equals("swiattn")).toList();
        Frame f = frame(g, x, y, w, h, "(c) SwiAttn full ratio per layer during continual pretraining",
                "CPT step", "fraction of tokens on full", 0, r.options().cptSteps(), 0, 1);
        if (rows.isEmpty()) {
            return;
        }
        int layers = rows.get(0).ratio().length;
        double[] xs = new double[rows.size()];
        double[] t = new double[rows.size()];
        for (int k = 0; k < rows.size(); k++) {
            xs[k] = rows.get(k).step();
            t[k] = rows.get(k).target();
        }
        String[] names = new String[layers + 1];
        Color[] colors = new Color[layers + 1];
        for (int l = 0; l < layers; l++) {
            double[] ys = new double[rows.size()];
            for (int k = 0; k < rows.size(); k++) {
                ys[k] = rows.get(k).ratio()[l];
            }
            polyline(g, f, xs, ys, LAYER[l % LAYER.length], 1.8f);
            names[l] = "layer " + l;
            colors[l] = LAYER[l % LAYER.length];
        }
        polyline(g, f, xs, t, Color.GRAY, 1.2f);
        names[layers] = "target t_s (" + r.options().measure() + " measure, mean over layers)";
        colors[layers] = Color.GRAY;
        legend(g, f, names, colors);
    }

    private static void positionPanel(Graphics2D g, TransferDemo.Report r, int x, int y, int w, int h) {
        double[][] pf = r.swiattn().positionFull();
        RecallTask t = r.options().task();
        Frame f = frame(g, x, y, w, h, "(d) positions routed to full attention (held-out set)", "position",
                "fraction routed to full", 0, t.seqLen(), 0, 1);
        g.setColor(new Color(0xFFF3D6));
        g.fillRect(f.px(t.firstQuery()), f.y0() + 1, f.px(t.seqLen()) - f.px(t.firstQuery()), f.h() - 1);
        g.setColor(new Color(0xE3F0FF));
        g.fillRect(f.px(0) + 1, f.y0() + 1, f.px(t.pairs()) - f.px(0), f.h() - 1);
        g.setColor(Color.DARK_GRAY);
        g.drawString("memory", f.px(0) + 4, f.y0() + 14);
        g.drawString("queries", f.px(t.firstQuery()) + 4, f.y0() + 14);
        int layers = pf.length;
        double bw = 0.8 / layers;
        String[] names = new String[layers];
        Color[] colors = new Color[layers];
        for (int l = 0; l < layers; l++) {
            g.setColor(LAYER[l % LAYER.length]);
            for (int i = 0; i < pf[l].length; i++) {
                int bx = f.px(i + 0.1 + l * bw);
                int top = f.py(pf[l][i]);
                g.fillRect(bx, top, Math.max(1, f.px(i + 0.1 + (l + 1) * bw) - bx), f.y0() + f.h() - top);
            }
            names[l] = "layer " + l;
            colors[l] = LAYER[l % LAYER.length];
        }
        g.translate(-200, 20);
        legend(g, f, names, colors);
        g.translate(200, -20);
    }
}
