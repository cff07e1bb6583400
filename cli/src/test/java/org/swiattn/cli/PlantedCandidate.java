package org.swiattn.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;
import org.swiattn.golden.CaseInputs;
import org.swiattn.golden.CaseSpec;
import org.swiattn.golden.Dtype;
import org.swiattn.golden.SafeTensorsFile;
import org.swiattn.golden.SafeTensorsWriter;
import org.swiattn.reference.Mistake;
import org.swiattn.reference.NaiveAttention;
import org.swiattn.reference.RowsComputation;
import org.swiattn.reference.RowsOutputs;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Precision;

/**
 * A candidate file with one catalogued mistake planted into an implementation of the candidate's own precision:
 * {@code NaiveAttention(precision)} (plain fp64 sums for fp64; fp32 or bf16 storage with fp32 accumulation), not
 * the reference, so a match is a match across different arithmetic. WHOLE cases get every tensor; SAMPLED (32K)
 * cases the row tensors, with the mistake, and lse_all from the golden file rounded to the precision's LSE storage
 * (the LSE of all 32K rows with the mistake would cost a full-branch pass: row tensors carry the mistake there).
 */
final class PlantedCandidate {
    private PlantedCandidate() {
    }

    /**
     * Writes the candidate.
     *
     * @param mistake null for none (a conforming candidate)
     * @return null when the mistake cannot be planted on the case
     */
    static Path write(Path golden, CaseSpec c, Mistake mistake, Precision precision, Path file) {
        AttentionInputs in = CaseInputs.inputs(c);
        SafeTensorsFile g = SafeTensorsFile.open(golden.resolve(c.fileName()));
        int[] rows = c.whole() ? RowsComputation.allRows(c.shape()) : g.readIndices("rows", c.shape().rows());
        double[] dORows = !c.backward() ? null : c.whole() ? CaseInputs.dOut(c, null) : CaseInputs.dOutRows(c, rows);
        NaiveAttention impl = new NaiveAttention(precision);
        RowsOutputs out = mistake == null ? RowsOutputs.of(impl, in, rows, dORows)
                : mistake.predict(in, rows, dORows, impl, precision);
        if (out == null) {
            return null;
        }
        String suffix = c.whole() ? "" : "_rows";
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("precision", precision.name().toLowerCase(Locale.ROOT))
                .metadata("case", c.name()).metadata("implementation", impl.name() + (mistake == null ? ""
                        : " with " + mistake.id() + " planted"));
        w.addDoubles("o" + suffix, Dtype.F64, g.info("o" + suffix).shape(), out.forward().o());
        w.addDoubles("lse" + suffix, Dtype.F64, g.info("lse" + suffix).shape(), out.forward().lse());
        if (!c.whole()) {
            double[] lse = g.readDoubles("lse_all");
            for (int n = 0; n < lse.length; n++) {
                lse[n] = precision == Precision.FP64 ? lse[n] : (float) lse[n];
            }
            w.addDoubles("lse_all", Dtype.F64, g.info("lse_all").shape(), lse);
        }
        if (out.gradients() != null) {
            w.addDoubles("dq" + suffix, Dtype.F64, g.info("dq" + suffix).shape(), out.gradients().dq());
            w.addDoubles("dk" + suffix, Dtype.F64, g.info("dk" + suffix).shape(), out.gradients().dk());
            w.addDoubles("dv" + suffix, Dtype.F64, g.info("dv" + suffix).shape(), out.gradients().dv());
            w.addDoubles("d_router_logit" + suffix, Dtype.F64, g.info("d_router_logit" + suffix).shape(),
                    out.gradients().dA());
        }
        try {
            return w.write(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
