package org.swiattn.golden;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.swiattn.spec.Bf16;

/**
 * Builds and writes one safetensors file. Tensors are laid out in the order they were added, back to back from
 * offset 0; the JSON header is padded with spaces so the data section starts at a multiple of 8 bytes (as the
 * format's reference writer does). {@link #write} writes a temporary file in the target's folder, forces it to disk
 * and renames it over the target ({@link SafeFiles#atomicWrite}), so a reader never sees a half-written file.
 *
 * <pre>
 *   addDoubles(name, F64|F32|BF16, shape, x)   x [numel] doubles, rounded to the dtype (F32: (float) x,
 *                                              BF16: Bf16.bits, round to nearest even)
 *   addLongs(name, I64|I32|I16|I8|U8|BOOL, shape, x)   x [numel], each must fit the dtype
 * </pre>
 */
public final class SafeTensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 1 << 20;

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<Pending> tensors = new ArrayList<>();

    private record Pending(String name, Dtype dtype, long[] shape, double[] doubles, long[] longs) {
        long bytes() {
            return (long) (doubles != null ? doubles.length : longs.length) * dtype.bytes();
        }
    }

    /** Adds (or replaces) one {@code __metadata__} entry. */
    public SafeTensorsWriter metadata(String key, String value) {
        if (key == null || value == null) {
            throw new IllegalArgumentException("metadata key and value must not be null (key=" + key + ")");
        }
        metadata.put(key, value);
        return this;
    }

    /** Adds every entry of a map to {@code __metadata__}. */
    public SafeTensorsWriter metadata(Map<String, String> entries) {
        entries.forEach(this::metadata);
        return this;
    }

    /**
     * Adds a floating-point tensor.
     *
     * @param shape [rank] sizes; product must equal x.length; not modified (copied)
     * @param x     [numel] values, row-major; not modified (referenced until {@link #write})
     */
    public SafeTensorsWriter addDoubles(String name, Dtype dtype, long[] shape, double[] x) {
        if (!dtype.isFloating() || dtype == Dtype.F16) {
            throw new IllegalArgumentException("addDoubles: dtype must be F64, F32 or BF16, got " + dtype);
        }
        checkNew(name, shape, x.length);
        tensors.add(new Pending(name, dtype, shape.clone(), x, null));
        return this;
    }

    /**
     * Adds an integer or boolean tensor.
     *
     * @param shape [rank] sizes; product must equal x.length; not modified (copied)
     * @param x     [numel] values, row-major, each within the dtype's range; not modified (referenced)
     */
    public SafeTensorsWriter addLongs(String name, Dtype dtype, long[] shape, long[] x) {
        if (dtype.isFloating()) {
            throw new IllegalArgumentException("addLongs: dtype must be an integer or BOOL dtype, got " + dtype);
        }
        checkNew(name, shape, x.length);
        long lo = switch (dtype) {
            case I64 -> Long.MIN_VALUE;
            case I32 -> Integer.MIN_VALUE;
            case I16 -> Short.MIN_VALUE;
            case I8 -> Byte.MIN_VALUE;
            default -> 0;
        };
        long hi = switch (dtype) {
            case I64 -> Long.MAX_VALUE;
            case I32 -> Integer.MAX_VALUE;
            case I16 -> Short.MAX_VALUE;
            case I8 -> Byte.MAX_VALUE;
            case U8 -> 255;
            default -> 1;
        };
        for (int n = 0; n < x.length; n++) {
            if (x[n] < lo || x[n] > hi) {
                throw new IllegalArgumentException("tensor '" + name + "': element " + n + " = " + x[n]
                        + " does not fit " + dtype);
            }
        }
        tensors.add(new Pending(name, dtype, shape.clone(), null, x));
        return this;
    }

    private void checkNew(String name, long[] shape, int length) {
        if (name == null || name.isEmpty() || name.equals("__metadata__")) {
            throw new IllegalArgumentException("tensor name must be non-empty and not __metadata__, got " + name);
        }
        for (Pending p : tensors) {
            if (p.name.equals(name)) {
                throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
            }
        }
        long numel = 1;
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative size in shape");
            }
            numel = Math.multiplyExact(numel, s);
        }
        if (numel != length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape has " + numel + " elements but the data "
                    + "has " + length);
        }
    }

    /** The JSON header, unpadded. */
    String headerJson() {
        Map<String, Object> root = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            root.put("__metadata__", metadata);
        }
        long offset = 0;
        for (Pending p : tensors) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("dtype", p.dtype.name());
            e.put("shape", p.shape);
            e.put("data_offsets", new long[] {offset, offset + p.bytes()});
            offset += p.bytes();
            root.put(p.name, e);
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes the file atomically ({@link SafeFiles#atomicWrite}: a temporary file beside the target, forced to disk,
     * then renamed over it; a target that is not a regular file is refused, a link to one is written through).
     *
     * @param target the file to create or replace; its parent folders are created
     * @return the file written
     */
    public Path write(Path target) throws IOException {
        byte[] header = headerJson().getBytes(StandardCharsets.UTF_8);
        int padded = (int) ((header.length + 7L) / 8 * 8);
        return SafeFiles.atomicWrite(target, ch -> {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded);
            head.put(header);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            head.flip();
            writeFully(ch, head);
            ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            for (Pending p : tensors) {
                writeData(ch, buf, p);
            }
        });
    }

    private static void writeData(FileChannel ch, ByteBuffer buf, Pending p) throws IOException {
        int n = p.doubles != null ? p.doubles.length : p.longs.length;
        buf.clear();
        for (int i = 0; i < n; i++) {
            if (buf.remaining() < 8) {
                buf.flip();
                writeFully(ch, buf);
                buf.clear();
            }
            switch (p.dtype) {
                case F64 -> buf.putDouble(p.doubles[i]);
                case F32 -> buf.putFloat((float) p.doubles[i]);
                case BF16 -> buf.putShort(Bf16.bits(p.doubles[i]));
                case I64 -> buf.putLong(p.longs[i]);
                case I32 -> buf.putInt((int) p.longs[i]);
                case I16 -> buf.putShort((short) p.longs[i]);
                case I8, U8, BOOL -> buf.put((byte) p.longs[i]);
                default -> throw new IllegalStateException("unwritable dtype " + p.dtype);
            }
        }
        buf.flip();
        writeFully(ch, buf);
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
