package org.swiattn.golden;

import java.io.IOException;
import java.nio.file.Path;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Shape;

/**
 * {@code swiattn golden export}: writes a committed case as one self-contained file, for users who do not want to
 * regenerate inputs. The golden tensors and metadata are copied from the case file; {@code full} adds the inputs,
 * regenerated from the seed:
 *
 * <pre>
 *   q [B,Sq,Hq,D], k [B,Sk,Hkv,D], v [B,Sk,Hkv,D], do [B,Sq,Hq,D]   (do: zero outside the rows of SAMPLED
 *                                                                  cases; k, v: NaN in unused slots where the
 *                                                                  case says unused_kv = nan)
 *   metadata "inputs_included" = "q,k,v,do", "inputs_dtype"
 * </pre>
 * The inputs are bf16-representable, so F64, F32 and BF16 all store them exactly (BF16 is 4x smaller than F64 but
 * numpy has no bfloat16 dtype). A 32K case with inputs in F64 is about 2.7 GB.
 */
public final class GoldenExporter {
    private GoldenExporter() {
    }

    /**
     * Exports a case.
     *
     * @param goldenDir  the golden folder
     * @param caseId     tcId or name
     * @param full       whether to include the inputs
     * @param inputDtype F64, F32 or BF16
     * @param out        the file to write (atomically)
     * @return the case exported
     */
    public static CaseSpec export(Path goldenDir, String caseId, boolean full, Dtype inputDtype, Path out)
            throws IOException {
        Manifest m = Manifest.read(goldenDir);
        Manifest.Entry e = m.find(caseId);
        if (e == null) {
            throw new BadInputException("unknown case '" + caseId + "' (not in " + goldenDir.resolve(Manifest.FILE)
                    + ")");
        }
        if (inputDtype != Dtype.F64 && inputDtype != Dtype.F32 && inputDtype != Dtype.BF16) {
            throw new BadInputException("--input-dtype must be F64, F32 or BF16, got " + inputDtype);
        }
        SafeFiles.writableFile(out, "--out");   // before any work
        CaseSpec c = Suites.find(e.name());
        SafeTensorsFile gold = Manifest.openVerified(goldenDir, e);
        SafeTensorsWriter w = new SafeTensorsWriter().metadata(gold.metadata());
        for (TensorInfo t : gold.tensors().values()) {
            if (t.dtype().isFloating()) {
                w.addDoubles(t.name(), t.dtype(), t.shape(), gold.readDoubles(t.name()));
            } else {
                w.addLongs(t.name(), t.dtype(), t.shape(), gold.readLongs(t.name()));
            }
        }
        if (full) {
            AttentionInputs in = CaseInputs.inputs(c);
            Shape sh = c.shape();
            int[] rows = c.whole() ? null : gold.readIndices("rows", sh.rows());
            double[] dOut = CaseInputs.dOut(c, rows);
            w.metadata("inputs_included", "q,k,v,do").metadata("inputs_dtype", inputDtype.name());
            w.addDoubles("q", inputDtype, new long[] {sh.batch(), sh.seqLen(), sh.qHeads(), sh.headDim()}, in.q());
            w.addDoubles("k", inputDtype, new long[] {sh.batch(), sh.kvSeqLen(), sh.kvHeads(), sh.headDim()},
                    in.k());
            w.addDoubles("v", inputDtype, new long[] {sh.batch(), sh.kvSeqLen(), sh.kvHeads(), sh.headDim()},
                    in.v());
            w.addDoubles("do", inputDtype, new long[] {sh.batch(), sh.seqLen(), sh.qHeads(), sh.headDim()}, dOut);
        }
        w.write(out);
        return c;
    }
}
