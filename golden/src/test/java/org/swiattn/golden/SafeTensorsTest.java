package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsEveryWritableDtype() throws IOException {
        double[] f = {1.0, -2.5, 0x1.fffffffffffffp-3, Double.MIN_VALUE, -0.0, 1e300};
        long[] ints = {0, 1, -1, 127, -128, 42};
        Path p = dir.resolve("all.safetensors");
        new SafeTensorsWriter().metadata("spec_version", "1.0").metadata("note", "ünïcode ✓")
                .addDoubles("f64", Dtype.F64, new long[] {2, 3}, f)
                .addDoubles("f32", Dtype.F32, new long[] {6}, f)
                .addDoubles("bf16", Dtype.BF16, new long[] {3, 2}, f)
                .addLongs("i64", Dtype.I64, new long[] {6}, new long[] {Long.MIN_VALUE, Long.MAX_VALUE, 0, 1, -1, 5})
                .addLongs("i32", Dtype.I32, new long[] {6}, ints)
                .addLongs("i16", Dtype.I16, new long[] {6}, ints)
                .addLongs("i8", Dtype.I8, new long[] {6}, ints)
                .addLongs("u8", Dtype.U8, new long[] {2}, new long[] {0, 255})
                .addLongs("bool", Dtype.BOOL, new long[] {3}, new long[] {1, 0, 1})
                .addDoubles("scalar", Dtype.F64, new long[] {}, new double[] {7})
                .addDoubles("empty", Dtype.F64, new long[] {0, 4}, new double[0])
                .write(p);
        SafeTensorsFile r = SafeTensorsFile.open(p);
        assertThat(r.metadata()).containsEntry("spec_version", "1.0").containsEntry("note", "ünïcode ✓");
        assertThat(r.tensors().keySet()).containsExactly("f64", "f32", "bf16", "i64", "i32", "i16", "i8", "u8",
                "bool", "scalar", "empty");
        assertThat(r.readDoubles("f64")).containsExactly(f);
        assertThat(r.info("f64").hasShape(2, 3)).isTrue();
        double[] f32 = r.readDoubles("f32");
        for (int n = 0; n < f.length; n++) {
            assertThat(f32[n]).isEqualTo((double) (float) f[n]);
        }
        assertThat(r.readDoubles("bf16")[1]).isEqualTo(-2.5);
        assertThat(r.readLongs("i64")).containsExactly(Long.MIN_VALUE, Long.MAX_VALUE, 0, 1, -1, 5);
        assertThat(r.readLongs("i32")).containsExactly(ints);
        assertThat(r.readLongs("i16")).containsExactly(ints);
        assertThat(r.readLongs("i8")).containsExactly(ints);
        assertThat(r.readLongs("u8")).containsExactly(0, 255);
        assertThat(r.readLongs("bool")).containsExactly(1, 0, 1);
        assertThat(r.readDoubles("scalar")).containsExactly(7);
        assertThat(r.readDoubles("empty")).isEmpty();
        // the data section starts 8-byte aligned, as the format's reference writer does
        byte[] bytes = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertThat((8 + n) % 8).isZero();
    }

    /**
     * A file produced by another writer: bytes written by Python's struct/json (no padding, keys in a different
     * order, data_offsets not in header order), {"b": F32 [2] = [1.5, -2], "a": I32 [1] = [7]}, metadata {"x": "y"}.
     */
    @Test
    void readsAForeignFile() throws IOException {
        String json = "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
                + "\"__metadata__\":{\"x\":\"y\"},\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        ByteBuffer data = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(7).putFloat(1.5f)
                .putFloat(-2f);
        Path p = write(json, data.array());
        SafeTensorsFile r = SafeTensorsFile.open(p);
        assertThat(r.readLongs("a")).containsExactly(7);
        assertThat(r.readDoubles("b")).containsExactly(1.5, -2.0);
        assertThat(r.metadata()).containsEntry("x", "y");
    }

    @Test
    void readsF16() throws IOException {
        // 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), +inf
        String json = "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]}}";
        byte[] data = HexFormat.of().parseHex("003c00c0ff7b0100007c");
        SafeTensorsFile r = SafeTensorsFile.open(write(json, data));
        assertThat(r.readDoubles("h")).containsExactly(1.0, -2.0, 65504.0, 0x1p-24, Double.POSITIVE_INFINITY);
    }

    @Test
    void rejectsStructuralDefectsWithClearMessages() throws IOException {
        String ok = "{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}";
        byte[] d16 = new byte[16];
        expect(Files.write(dir.resolve("short"), new byte[] {1, 2, 3}), "shorter than the 8-byte header length");
        expect(rawLength(Long.MAX_VALUE / 3, 100), "exceeds the limit");
        expect(rawLength(-1, 100), "exceeds the limit");
        expect(rawLength(1000, 100), "runs past the end of the file");
        expect(write("{\"a\":", d16), "not valid JSON");
        expect(write("[1, 2]", d16), "does not start with '{'");
        expect(write(ok + " {}", d16), "not valid JSON");
        expect(write("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", d16), "duplicate");
        expect(write(ok.replace("F64", "F8_E4M3"), d16), "unknown dtype 'F8_E4M3'");
        expect(write(ok.replace("[2]", "[3]"), d16), "need 24");
        expect(write(ok.replace("[2]", "[-2]"), d16), "must be a non-negative");
        expect(write(ok.replace("[2]", "[2.5]"), d16), "must be a non-negative");
        expect(write(ok.replace("[0,16]", "[16,0]"), d16), "begin 16 > end 0");
        expect(write(ok.replace("[0,16]", "[8,24]"), new byte[24]), "gap of 8 bytes");
        expect(write(ok, new byte[8]), "truncated");
        expect(write(ok, new byte[20]), "4 trailing bytes");
        expect(write(ok.replace("[0,16]", "[0,16,3]"), d16), "data_offsets must be an array [begin, end]");
        expect(write(ok.replace("\"shape\"", "\"extra\":1,\"shape\""), d16), "unknown field 'extra'");
        expect(write("{\"a\":{\"dtype\":\"F64\",\"shape\":[2]}}", d16), "must have dtype, shape and data_offsets");
        expect(write("{\"__metadata__\":{\"k\":3}}", new byte[0]), "must be a string");
        expect(write("{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,4294967296],"
                + "\"data_offsets\":[0,16]}}", d16), "overflows");
        expect(write("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}}", d16), "overlap");
        byte[] badUtf8 = ok.getBytes(StandardCharsets.UTF_8);
        badUtf8[3] = (byte) 0xC3;
        expect(writeBytes(badUtf8, d16), "not valid UTF-8");
        expect(dir.resolve("absent.safetensors"), "no such file");
    }

    @Test
    void rejectsBadValuesAndWrongDtypesOnRead() throws IOException {
        String json = "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}";
        SafeTensorsFile r = SafeTensorsFile.open(write(json, new byte[] {1, 2}));
        assertThatThrownBy(() -> r.readLongs("m")).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining("element 1 is 2");
        assertThatThrownBy(() -> r.readDoubles("m")).hasMessageContaining("expected a floating-point dtype");
        assertThatThrownBy(() -> r.readDoubles("zz")).hasMessageContaining("missing tensor 'zz'");
    }

    @Test
    void writeIsAtomicAndLeavesNoTemporaryFiles() throws IOException {
        Path p = dir.resolve("sub/x.safetensors");
        new SafeTensorsWriter().addDoubles("a", Dtype.F64, new long[] {1}, new double[] {1}).write(p);
        new SafeTensorsWriter().addDoubles("a", Dtype.F64, new long[] {1}, new double[] {2}).write(p);
        assertThat(SafeTensorsFile.open(p).readDoubles("a")).containsExactly(2);
        if (Files.getFileStore(p).supportsFileAttributeView("posix")) {
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p)))
                    .as("readable by others, unlike the rw------- temporary file").isEqualTo("rw-r--r--");
        }
        try (Stream<Path> s = Files.list(p.getParent())) {
            assertThat(s.map(q -> q.getFileName().toString()).toList()).isEqualTo(List.of("x.safetensors"));
        }
    }

    @Test
    void writerRejectsBadArguments() {
        SafeTensorsWriter w = new SafeTensorsWriter().addDoubles("a", Dtype.F64, new long[] {1}, new double[] {1});
        assertThatThrownBy(() -> w.addDoubles("a", Dtype.F64, new long[] {1}, new double[] {1}))
                .hasMessageContaining("duplicate");
        assertThatThrownBy(() -> w.addDoubles("b", Dtype.F64, new long[] {3}, new double[] {1}))
                .hasMessageContaining("shape has 3 elements but the data has 1");
        assertThatThrownBy(() -> w.addLongs("c", Dtype.U8, new long[] {1}, new long[] {256}))
                .hasMessageContaining("does not fit U8");
        assertThatThrownBy(() -> w.addLongs("d", Dtype.F32, new long[] {1}, new long[] {1}))
                .hasMessageContaining("integer");
    }

    private void expect(Path p, String fragment) {
        assertThatThrownBy(() -> {
            SafeTensorsFile f = SafeTensorsFile.open(p);
            for (String name : f.tensors().keySet()) {
                f.readLongs(name);
            }
        }).isInstanceOf(SafeTensorsException.class).hasMessageContaining(fragment)
                .hasMessageNotContaining("\n");
    }

    private int counter;

    private Path write(String json, byte[] data) throws IOException {
        return writeBytes(json.getBytes(StandardCharsets.UTF_8), data);
    }

    private Path writeBytes(byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(data);
        return Files.write(dir.resolve("f" + (counter++) + ".safetensors"), b.array());
    }

    private Path rawLength(long n, int fileSize) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(fileSize).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(n);
        return Files.write(dir.resolve("f" + (counter++) + ".safetensors"), b.array());
    }
}
