package org.swiattn.golden;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import org.swiattn.spec.SpecVersion;

/**
 * {@code golden/manifest.json}: the list of case files with their sha256 sums, ids, names, flags and comments.
 *
 * <pre>
 *   {"format": "swiattn-golden-manifest", "format_version": 1, "spec_version": "1.0", "generator_version": "1",
 *    "cases": [{"tcId": 1, "name": "routed_mha_s1_w1", "file": "v1/routed_mha_s1_w1.safetensors",
 *               "sha256": "...", "bytes": 1234, "kind": "whole", "B": 1, "S": 1, "Hq": 1, "Hkv": 1, "D": 16,
 *               "window": 1, "estimator": "STRAIGHT_THROUGH", "backward": true, "seed": "1",
 *               "flags": ["SeqLenOne", "WindowOne"], "comment": "...", "tensors": ["route", ...]}, ...]}
 * </pre>
 */
public record Manifest(String format, int format_version, String spec_version, String generator_version,
                       List<Entry> cases) {

    /** The manifest's file name inside a golden folder. */
    public static final String FILE = "manifest.json";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .build();

    /** One case file. */
    public record Entry(int tcId, String name, String file, String sha256, long bytes, String kind, int B, int S,
                        int Hq, int Hkv, int D, int window, String estimator, boolean backward, String seed,
                        List<String> flags, String comment, List<String> tensors) {
    }

    /** An empty manifest of the current versions. */
    public static Manifest empty() {
        return new Manifest("swiattn-golden-manifest", 1, SpecVersion.VALUES, GoldenGenerator.GENERATOR_VERSION,
                List.of());
    }

    /** The entry for a written case file. */
    public static Entry entry(CaseSpec c, CaseData data, Path file) throws IOException {
        return new Entry(c.tcId(), c.name(), c.fileName(), sha256(file), Files.size(file),
                c.kind().name().toLowerCase(java.util.Locale.ROOT), c.shape().batch(), c.shape().seqLen(),
                c.shape().qHeads(), c.shape().kvHeads(), c.shape().headDim(), c.window(), c.estimator().name(),
                c.backward(), Long.toUnsignedString(c.seed()), c.flags(), c.comment(),
                new ArrayList<>(data.tensors().keySet()));
    }

    /** This manifest with an entry added or replaced (by tcId), entries sorted by tcId. */
    public Manifest with(Entry e) {
        List<Entry> list = new ArrayList<>();
        for (Entry x : cases) {
            if (x.tcId() != e.tcId() && !x.name().equals(e.name())) {
                list.add(x);
            }
        }
        list.add(e);
        list.sort(Comparator.comparingInt(Entry::tcId));
        return new Manifest(format, format_version, spec_version, generator_version, list);
    }

    /** The entry of a case id or name, or null. */
    public Entry find(String idOrName) {
        for (Entry e : cases) {
            if (e.name().equals(idOrName) || Integer.toString(e.tcId()).equals(idOrName)) {
                return e;
            }
        }
        return null;
    }

    /**
     * Reads {@code DIR/manifest.json}.
     *
     * @throws BadInputException if missing or malformed
     */
    public static Manifest read(Path dir) {
        Path p = dir.resolve(FILE);
        try {
            Manifest m = JSON.readValue(Files.readString(p, StandardCharsets.UTF_8), Manifest.class);
            if (!"swiattn-golden-manifest".equals(m.format()) || m.cases() == null) {
                throw new BadInputException(p + ": not a swiattn golden manifest (format = " + m.format() + ")");
            }
            return m;
        } catch (NoSuchFileException e) {
            throw new BadInputException(p + ": no such file (is " + dir + " a golden folder? generate one with"
                    + " `swiattn golden generate`)");
        } catch (JsonProcessingException e) {
            throw new BadInputException(p + ": malformed manifest: " + e.getOriginalMessage().replaceAll("\\s+", " "));
        } catch (IOException e) {
            throw new BadInputException(p + ": cannot read: " + e.getMessage());
        }
    }

    /** Reads the manifest of a folder, or an empty one if the folder has none. */
    public static Manifest readOrEmpty(Path dir) {
        return Files.exists(dir.resolve(FILE)) ? read(dir) : empty();
    }

    /** Writes {@code DIR/manifest.json} atomically (temporary file, then rename). */
    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + FILE, ".tmp");
        try {
            Files.writeString(tmp, JSON.writeValueAsString(this) + "\n", StandardCharsets.UTF_8);
            SafeTensorsWriter.publicPermissions(tmp);
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Lowercase hex sha256 of a file. */
    public static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
