package org.swiattn.golden;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file opened for reading: the header is parsed and validated when the file is opened, tensor data is
 * read on demand, in bounded chunks, so a file of any size (or any corruption) never makes the reader allocate more
 * than the tensor asked for.
 *
 * <p>The format (https://github.com/huggingface/safetensors):
 * <pre>
 *   bytes [0, 8)        N, the header length, unsigned 64-bit little-endian
 *   bytes [8, 8+N)      the header: a UTF-8 JSON object (may be padded with trailing spaces)
 *                         "__metadata__": {string: string}               optional
 *                         "NAME": {"dtype": "F64", "shape": [..], "data_offsets": [begin, end]}
 *   bytes [8+N, end)    the data section; offsets are relative to its start, little-endian elements
 * </pre>
 *
 * <p>Checks, each failing with a {@link SafeTensorsException} that names the file and the defect:
 * file shorter than 8 bytes; N larger than {@link #MAX_HEADER_BYTES} or than the rest of the file; a header that is
 * not UTF-8, not one JSON object, or has trailing garbage; duplicate keys; a tensor entry with missing, extra or
 * ill-typed fields; an unknown dtype; a negative or non-integral size or offset; {@code begin > end}; a byte range that
 * disagrees with dtype and shape; gaps or overlaps between tensors (the tensors must tile the data section exactly,
 * as the format's reference implementation requires); a data section shorter (truncated) or longer than the
 * tensors; a tensor of more elements than a Java array holds.
 */
public final class SafeTensorsFile {
    /**
     * Largest header accepted: 16 MiB (the format's reference implementation allows 100 MB; golden headers are a
     * few KB, and a limit keeps a hostile header from exhausting memory in the JSON tree).
     */
    public static final long MAX_HEADER_BYTES = 16L << 20;
    /** Largest rank accepted. */
    public static final int MAX_RANK = 16;
    /** Largest element count of one tensor read into a Java array. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(64).maxNumberLength(40).build());
    }

    private static final int CHUNK = 1 << 20;

    private final Path path;
    private final long fileSize;
    private final long dataStart;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors;

    private SafeTensorsFile(Path path, long fileSize, long dataStart, Map<String, String> metadata,
            Map<String, TensorInfo> tensors) {
        this.path = path;
        this.fileSize = fileSize;
        this.dataStart = dataStart;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * Opens and validates a safetensors file (reads the header only).
     *
     * @throws SafeTensorsException for a missing, unreadable or malformed file
     */
    public static SafeTensorsFile open(Path path) {
        String why = SafeFiles.whyNotRegular(path);   // never opens a FIFO or a device (it would block or not end)
        if (why != null) {
            throw new SafeTensorsException(path, why);
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return parse(path, ch);
        } catch (NoSuchFileException e) {
            throw new SafeTensorsException(path, "no such file");
        } catch (IOException e) {
            throw new SafeTensorsException(path, "cannot read: " + SafeFiles.reason(e), e);
        }
    }

    private static SafeTensorsFile parse(Path path, FileChannel ch) throws IOException {
        // 1. the 8-byte header length
        long size = ch.size();
        if (size < 8) {
            throw new SafeTensorsException(path, "file is " + size + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(path, ch, lenBuf, 0);
        long n = lenBuf.getLong(0);
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new SafeTensorsException(path, "header length " + Long.toUnsignedString(n)
                    + " bytes exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (n > size - 8) {
            throw new SafeTensorsException(path, "header length " + n + " runs past the end of the file (only "
                    + (size - 8) + " bytes follow the length)");
        }
        if (n < 2) {
            throw new SafeTensorsException(path, "header length " + n + " is too small for a JSON object");
        }
        // 2. the header text: strict UTF-8, one JSON object
        ByteBuffer hb = ByteBuffer.allocate((int) n);
        readFully(path, ch, hb, 8);
        hb.flip();
        String text;
        try {
            CharBuffer cb = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(hb);
            text = cb.toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsException(path, "header is not valid UTF-8");
        }
        if (text.charAt(0) != '{') {
            throw new SafeTensorsException(path, "header does not start with '{'");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            String m = e.getOriginalMessage();
            if (m != null && m.startsWith("Duplicate field")) {
                throw new SafeTensorsException(path, "header has a duplicate key: " + m);
            }
            throw new SafeTensorsException(path, "header is not valid JSON: " + jsonError(e));
        }
        if (root == null || !root.isObject()) {
            throw new SafeTensorsException(path, "header is not a JSON object");
        }
        // 3. entries
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = root.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                parseMetadata(path, e.getValue(), metadata);
            } else {
                tensors.put(name, parseEntry(path, name, e.getValue()));
            }
        }
        // 4. the tensors must tile the data section [0, size - 8 - n) exactly
        long dataLen = size - 8 - n;
        List<TensorInfo> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (TensorInfo t : byOffset) {
            if (t.end() > dataLen) {
                throw new SafeTensorsException(path, "tensor '" + t.name() + "' data_offsets [" + t.begin() + ", "
                        + t.end() + ") run past the end of the data section (" + dataLen + " bytes): a bad offset or "
                        + "a truncated file");
            }
        }
        long expected = 0;
        String previous = null;
        for (TensorInfo t : byOffset) {
            if (t.begin() < expected) {
                throw new SafeTensorsException(path, "tensor '" + t.name() + "' data_offsets [" + t.begin() + ", "
                        + t.end() + ") overlap tensor '" + previous + "' (which ends at " + expected + ")");
            }
            if (t.begin() > expected) {
                throw new SafeTensorsException(path, "gap of " + (t.begin() - expected) + " bytes before tensor '"
                        + t.name() + "' (data_offsets start at " + t.begin() + ", expected " + expected + ")");
            }
            expected = t.end();
            previous = t.name();
        }
        if (expected > dataLen) {
            throw new SafeTensorsException(path, "data is truncated: the tensors need " + expected
                    + " bytes but the file has " + dataLen + " bytes of data");
        }
        if (expected < dataLen) {
            throw new SafeTensorsException(path, (dataLen - expected) + " trailing bytes after the last tensor");
        }
        return new SafeTensorsFile(path, size, 8 + n, metadata, tensors);
    }

    private static void parseMetadata(Path path, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) {
            throw new SafeTensorsException(path, "__metadata__ must be a JSON object of strings");
        }
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafeTensorsException(path, "__metadata__ value of '" + e.getKey()
                        + "' must be a string, got " + e.getValue().getNodeType());
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode node) {
        String where = "tensor '" + name + "'";
        if (name.isEmpty()) {
            throw new SafeTensorsException(path, "a tensor has an empty name");
        }
        if (!node.isObject()) {
            throw new SafeTensorsException(path, where + " entry must be a JSON object");
        }
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (!f.equals("dtype") && !f.equals("shape") && !f.equals("data_offsets")) {
                throw new SafeTensorsException(path, where + " has an unknown field '" + f + "'");
            }
        }
        JsonNode dt = node.get("dtype");
        JsonNode sh = node.get("shape");
        JsonNode off = node.get("data_offsets");
        if (dt == null || sh == null || off == null) {
            throw new SafeTensorsException(path, where + " must have dtype, shape and data_offsets");
        }
        if (!dt.isTextual()) {
            throw new SafeTensorsException(path, where + " dtype must be a string");
        }
        Dtype dtype;
        try {
            dtype = Dtype.parse(dt.textValue());
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(path, where + ": " + e.getMessage());
        }
        if (!sh.isArray() || sh.size() > MAX_RANK) {
            throw new SafeTensorsException(path, where + " shape must be an array of at most " + MAX_RANK
                    + " sizes");
        }
        long[] shape = new long[sh.size()];
        long numel = 1;
        for (int d = 0; d < shape.length; d++) {
            shape[d] = nonNegative(path, where + " shape[" + d + "]", sh.get(d));
            try {
                numel = Math.multiplyExact(numel, shape[d]);
            } catch (ArithmeticException ex) {
                throw new SafeTensorsException(path, where + " shape " + sh + " overflows a 64-bit element count");
            }
        }
        if (!off.isArray() || off.size() != 2) {
            throw new SafeTensorsException(path, where + " data_offsets must be an array [begin, end]");
        }
        long begin = nonNegative(path, where + " data_offsets[0]", off.get(0));
        long end = nonNegative(path, where + " data_offsets[1]", off.get(1));
        if (begin > end) {
            throw new SafeTensorsException(path, where + " data_offsets begin " + begin + " > end " + end);
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, dtype.bytes());
        } catch (ArithmeticException ex) {
            throw new SafeTensorsException(path, where + " shape " + sh + " overflows a 64-bit byte count");
        }
        if (end - begin != bytes) {
            throw new SafeTensorsException(path, where + " has " + (end - begin) + " bytes of data but dtype "
                    + dtype + " and shape " + sh + " need " + bytes);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long nonNegative(Path path, String what, JsonNode v) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw new SafeTensorsException(path, what + " must be a non-negative 64-bit integer, got " + v);
        }
        return v.longValue();
    }

    private static void readFully(Path path, FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) {
                throw new SafeTensorsException(path, "file ended early at byte " + pos + " (was it truncated while"
                        + " being read?)");
            }
            pos += r;
        }
    }

    /**
     * A JSON parse error in words: the parser's first sentence and the line and column, without the parser's class
     * names or a copy of the source (shared by the manifest reader).
     */
    static String jsonError(JsonProcessingException e) {
        String m = e.getOriginalMessage() == null ? "malformed JSON" : e.getOriginalMessage();
        m = m.replaceAll("\\s+", " ").replaceAll(" \\(code [0-9]+\\)", "");
        int cut = m.indexOf(" at [Source");
        if (cut >= 0) {
            m = m.substring(0, cut);
        }
        if (m.length() > 160) {
            m = m.substring(0, 160) + "...";
        }
        var loc = e.getLocation();
        return loc == null || loc.getLineNr() < 0 ? m : m + " (line " + loc.getLineNr() + ", column "
                + loc.getColumnNr() + ")";
    }

    /** The file this was read from. */
    public Path path() {
        return path;
    }

    /** The {@code __metadata__} map (empty if the file has none), in file order. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** A metadata value, or throws naming the missing key. */
    public String requireMetadata(String key) {
        String v = metadata.get(key);
        if (v == null) {
            throw new SafeTensorsException(path, "__metadata__ has no '" + key + "'");
        }
        return v;
    }

    /** A metadata value that must be a finite number, or throws naming the key and the value. */
    public double requireDouble(String key) {
        String v = requireMetadata(key);
        try {
            double d = Double.parseDouble(v);
            if (Double.isFinite(d)) {
                return d;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new SafeTensorsException(path, "__metadata__ '" + key + "' must be a finite number, got '" + v + "'");
    }

    /** A metadata value that must be an integer in [lo, hi], or throws naming the key and the value. */
    public long requireLong(String key, long lo, long hi) {
        String v = requireMetadata(key);
        try {
            long x = Long.parseLong(v.trim());
            if (x >= lo && x <= hi) {
                return x;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new SafeTensorsException(path, "__metadata__ '" + key + "' must be an integer in [" + lo + ", " + hi
                + "], got '" + v + "'");
    }

    /**
     * Reads an integer tensor of indices, each of which must lie in [0, limit).
     *
     * @return [numel] the indices
     * @throws SafeTensorsException naming the first element out of range
     */
    public int[] readIndices(String name, long limit) {
        long[] x = readLongs(name);
        int[] out = new int[x.length];
        for (int n = 0; n < x.length; n++) {
            if (x[n] < 0 || x[n] >= limit || x[n] > Integer.MAX_VALUE) {
                throw new SafeTensorsException(path, "tensor '" + name + "' element " + n + " = " + x[n]
                        + " is outside [0, " + limit + ")");
            }
            out[n] = (int) x[n];
        }
        return out;
    }

    /** The tensors, in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** Whether a tensor of that name exists. */
    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** The entry of a tensor, or throws naming the missing tensor. */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new SafeTensorsException(path, "missing tensor '" + name + "' (has: " + tensors.keySet() + ")");
        }
        return t;
    }

    /**
     * Reads a floating-point tensor (F64, F32, F16 or BF16) as doubles, exactly.
     *
     * @return [numel] in row-major order
     */
    public double[] readDoubles(String name) {
        TensorInfo t = info(name);
        return readDoubles(name, 0, checkedCount(t));
    }

    /**
     * Reads elements [first, first + count) of a floating-point tensor (row-major), exactly.
     *
     * @return [count]
     */
    public double[] readDoubles(String name, long first, int count) {
        TensorInfo t = info(name);
        if (!t.dtype().isFloating()) {
            throw new SafeTensorsException(path, "tensor '" + name + "' has dtype " + t.dtype()
                    + ", expected a floating-point dtype (F64, F32, BF16, F16)");
        }
        if (first < 0 || count < 0 || first > t.numel() - count) {
            throw new SafeTensorsException(path, "elements [" + first + ", " + (first + count) + ") are outside tensor '"
                    + name + "' of " + t.numel() + " elements");
        }
        double[] out = new double[count];
        read(t, first, count, (buf, n0, cnt) -> {
            for (int n = 0; n < cnt; n++) {
                out[n0 + n] = switch (t.dtype()) {
                    case F64 -> buf.getDouble();
                    case F32 -> buf.getFloat();
                    case BF16 -> Float.intBitsToFloat((buf.getShort() & 0xFFFF) << 16);
                    case F16 -> halfToFloat(buf.getShort());
                    default -> throw new IllegalStateException();
                };
            }
        });
        return out;
    }

    /**
     * Reads an integer or boolean tensor (I64, I32, I16, I8, U8, BOOL) as longs; BOOL bytes must be 0 or 1.
     *
     * @return [numel] in row-major order
     */
    public long[] readLongs(String name) {
        TensorInfo t = info(name);
        if (t.dtype().isFloating()) {
            throw new SafeTensorsException(path, "tensor '" + name + "' has dtype " + t.dtype()
                    + ", expected an integer or BOOL dtype");
        }
        long[] out = new long[checkedCount(t)];
        read(t, 0, out.length, (buf, n0, count) -> {
            for (int n = 0; n < count; n++) {
                long v = switch (t.dtype()) {
                    case I64 -> buf.getLong();
                    case I32 -> buf.getInt();
                    case I16 -> buf.getShort();
                    case I8 -> buf.get();
                    case U8, BOOL -> buf.get() & 0xFF;
                    default -> throw new IllegalStateException();
                };
                if (t.dtype() == Dtype.BOOL && v > 1) {
                    throw new SafeTensorsException(path, "tensor '" + name + "' is BOOL but element " + (n0 + n)
                            + " is " + v + " (must be 0 or 1)");
                }
                out[n0 + n] = v;
            }
        });
        return out;
    }

    private int checkedCount(TensorInfo t) {
        long numel = t.numel();
        if (numel > MAX_ELEMENTS) {
            throw new SafeTensorsException(path, "tensor '" + t.name() + "' has " + numel
                    + " elements, more than a Java array holds");
        }
        return (int) numel;
    }

    private interface ChunkConsumer {
        void accept(ByteBuffer buf, int firstElement, int count);
    }

    /** Reads elements [first, first + total) of a tensor in chunks, handing each chunk to the consumer. */
    private void read(TensorInfo t, long first, long total, ChunkConsumer consumer) {
        int esize = t.dtype().bytes();
        int perChunk = CHUNK / esize;
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK, Math.max(esize, total * esize)))
                .order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (ch.size() != fileSize) {
                throw new SafeTensorsException(path, "file changed size since it was opened (" + fileSize + " -> "
                        + ch.size() + " bytes)");
            }
            long done = 0;
            while (done < total) {
                int count = (int) Math.min(perChunk, total - done);
                buf.clear();
                buf.limit(count * esize);
                readFully(path, ch, buf, dataStart + t.begin() + (first + done) * esize);
                buf.flip();
                consumer.accept(buf, (int) done, count);
                done += count;
            }
        } catch (IOException e) {
            throw new SafeTensorsException(path, "cannot read tensor '" + t.name() + "': " + e.getMessage(), e);
        }
    }

    /** IEEE binary16 bits to float, exactly. */
    static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits >>> 15) << 31;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}
