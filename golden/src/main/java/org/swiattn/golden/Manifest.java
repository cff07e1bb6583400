package org.swiattn.golden;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
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

    /**
     * One case file. {@code Sk} (key rows per batch row) and {@code segments} (self, bottom_right, kv_cache, packed)
     * are given for suite-2 cases only (null, and absent from the JSON, for suite 1, where Sk = S).
     */
    public record Entry(int tcId, String name, String file, String sha256, long bytes, String kind, int B, int S,
                        Integer Sk, String segments, int Hq, int Hkv, int D, int window, String estimator,
                        boolean backward, String seed, List<String> flags, String comment, List<String> tensors) {

        /** A self-attention entry (no Sk, no segments). */
        public Entry(int tcId, String name, String file, String sha256, long bytes, String kind, int B, int S,
                     int Hq, int Hkv, int D, int window, String estimator, boolean backward, String seed,
                     List<String> flags, String comment, List<String> tensors) {
            this(tcId, name, file, sha256, bytes, kind, B, S, null, null, Hq, Hkv, D, window, estimator, backward,
                    seed, flags, comment, tensors);
        }
    }

    /** An empty manifest of the current versions. */
    public static Manifest empty() {
        return empty(GoldenGenerator.GENERATOR_VERSION);
    }

    /** An empty manifest of the current format and spec version, for cases written by another generator. */
    public static Manifest empty(String generatorVersion) {
        return new Manifest("swiattn-golden-manifest", 1, SpecVersion.VALUES, generatorVersion, List.of());
    }

    /** The entry for a written case file. */
    public static Entry entry(CaseSpec c, CaseData data, Path file) throws IOException {
        boolean v2 = c.version() == 2;
        return new Entry(c.tcId(), c.name(), c.fileName(), sha256(file), Files.size(file),
                c.kind().name().toLowerCase(java.util.Locale.ROOT), c.shape().batch(), c.shape().seqLen(),
                v2 ? c.shape().kvSeqLen() : null, v2 ? c.segments().form().metadataName() : null,
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

    /** Largest manifest read (the committed one is about 40 KB). */
    public static final long MAX_BYTES = 16L << 20;
    /** The lock file beside the manifest that serialises {@link #update}s of one folder across processes. */
    public static final String LOCK_FILE = ".manifest.lock";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,199}");
    private static final Pattern FILE_COMPONENT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Map<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

    /**
     * Reads {@code DIR/manifest.json} and checks every entry: a name of letters, digits, '_', '.', '-'; a file
     * that is a relative path inside DIR ending in .safetensors; a 64-digit lowercase hex sha256; fields of the
     * right JSON types. A manifest that is not a regular file (a FIFO, a device) is refused unopened.
     *
     * @throws BadInputException if missing, not a regular file, too large or malformed (the message names the
     *                           entry and the field)
     */
    public static Manifest read(Path dir) {
        Path p = dir.resolve(FILE);
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(p)) {
            throw new BadInputException(p + ": no such file (is " + dir + " a golden folder? generate one with"
                    + " `swiattn golden generate`)");
        }
        long size = SafeFiles.requireRegularFile(p).size();
        if (size > MAX_BYTES) {
            throw new BadInputException(p + ": " + size + " bytes, more than a manifest may have (" + MAX_BYTES + ")");
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(p, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new BadInputException(p + ": not valid JSON: " + SafeTensorsFile.jsonError(e));
        } catch (IOException e) {
            throw new BadInputException(p + ": cannot read: " + SafeFiles.reason(e));
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(p + ": not a swiattn golden manifest (not a JSON object)");
        }
        JsonNode format = root.get("format");
        if (format == null || !"swiattn-golden-manifest".equals(format.asText(null))) {
            throw new BadInputException(p + ": not a swiattn golden manifest (format = " + format + ", expected "
                    + "\"swiattn-golden-manifest\")");
        }
        JsonNode cases = root.get("cases");
        if (cases == null || !cases.isArray()) {
            throw new BadInputException(p + ": 'cases' must be a list of case entries, got " + (cases == null
                    ? "nothing" : cases.getNodeType().toString().toLowerCase(Locale.ROOT)));
        }
        require(p, "", root, "format_version", JsonNode::isInt, "an integer", false);
        for (String k : List.of("spec_version", "generator_version")) {
            require(p, "", root, k, JsonNode::isTextual, "a string", false);
        }
        for (int n = 0; n < cases.size(); n++) {
            checkEntry(p, n, cases.get(n));
        }
        try {
            return JSON.treeToValue(root, Manifest.class);
        } catch (JsonProcessingException e) {
            throw new BadInputException(p + ": malformed manifest: " + SafeTensorsFile.jsonError(e));
        }
    }

    private static void checkEntry(Path p, int n, JsonNode e) {
        String where = "cases[" + n + "]";
        if (e == null || !e.isObject()) {
            throw new BadInputException(p + ": " + where + " must be a JSON object, got " + e);
        }
        require(p, where, e, "tcId", JsonNode::isInt, "an integer", true);
        String name = require(p, where, e, "name", JsonNode::isTextual, "a string", true).textValue();
        if (!NAME.matcher(name).matches()) {
            throw new BadInputException(p + ": " + where + ".name must be letters, digits, '_', '.' and '-', got "
                    + quote(name));
        }
        where = where + " (" + name + ")";
        String file = require(p, where, e, "file", JsonNode::isTextual, "a string", true).textValue();
        checkFile(p, where, file);
        String sha = require(p, where, e, "sha256", JsonNode::isTextual, "a string", true).textValue();
        if (!SHA256.matcher(sha).matches()) {
            throw new BadInputException(p + ": " + where + ".sha256 must be 64 lowercase hex digits, got "
                    + quote(sha));
        }
        for (String k : List.of("B", "S", "Sk", "Hq", "Hkv", "D", "window")) {
            require(p, where, e, k, JsonNode::isInt, "an integer", false);
        }
        require(p, where, e, "bytes", JsonNode::canConvertToLong, "an integer", false);
        for (String k : List.of("kind", "segments", "estimator", "seed", "comment")) {
            require(p, where, e, k, JsonNode::isTextual, "a string", false);
        }
        require(p, where, e, "backward", JsonNode::isBoolean, "true or false", false);
        for (String k : List.of("flags", "tensors")) {
            JsonNode list = require(p, where, e, k, JsonNode::isArray, "a list of strings", false);
            if (list != null) {
                for (JsonNode x : list) {
                    if (!x.isTextual()) {
                        throw new BadInputException(p + ": " + where + "." + k + " must be a list of strings, got "
                                + x);
                    }
                }
            }
        }
    }

    private static JsonNode require(Path p, String where, JsonNode obj, String key,
                                    java.util.function.Predicate<JsonNode> ok, String what, boolean required) {
        JsonNode v = obj.get(key);
        if (v == null || v.isNull()) {
            if (required) {
                throw new BadInputException(p + ": " + (where.isEmpty() ? "" : where + " ") + "has no '" + key + "'");
            }
            return null;
        }
        if (!ok.test(v) || (v.isIntegralNumber() && !v.canConvertToLong())) {
            throw new BadInputException(p + ": " + (where.isEmpty() ? "" : where + ".") + key + " must be " + what
                    + ", got " + quote(v.toString()));
        }
        return v;
    }

    /** A case file: a relative path of plain components inside the folder, ending in .safetensors. */
    private static void checkFile(Path p, String where, String file) {
        boolean ok = file.endsWith(".safetensors") && !file.startsWith("/");
        for (String c : file.split("/", -1)) {
            ok &= FILE_COMPONENT.matcher(c).matches() && !c.equals("..") && !c.equals(".");
        }
        if (!ok) {
            throw new BadInputException(p + ": " + where + ".file must be a relative path inside the golden folder"
                    + " ending in .safetensors (letters, digits, '_', '.', '-', '/'), got " + quote(file));
        }
    }

    private static String quote(String s) {
        String t = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return "'" + t + "'";
    }

    /** Reads the manifest of a folder, or an empty one if the folder has none. */
    public static Manifest readOrEmpty(Path dir) {
        Path p = dir.resolve(FILE);
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS) || Files.isSymbolicLink(p) ? read(dir) : empty();
    }

    /**
     * Changes the manifest of a folder under a lock: waits for the folder's lock ({@link #LOCK_FILE}, a file lock,
     * so other processes wait too, and an in-process lock for threads), re-reads the manifest, applies the change
     * and writes the result atomically before releasing the lock. Concurrent runs writing into one folder therefore
     * never lose each other's entries.
     *
     * @param change maps the manifest as it is now to the new one
     * @return the manifest written
     */
    public static Manifest update(Path dir, UnaryOperator<Manifest> change) throws IOException {
        Files.createDirectories(dir);
        Path lockPath = dir.resolve(LOCK_FILE);
        if (Files.exists(lockPath, LinkOption.NOFOLLOW_LINKS)) {
            BasicFileAttributes a = Files.readAttributes(lockPath, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (!a.isRegularFile()) {
                throw new BadInputException(lockPath + ": is " + SafeFiles.kind(lockPath) + ", not a regular file; "
                        + "remove it");
            }
        }
        ReentrantLock local = IN_PROCESS.computeIfAbsent(dir.toRealPath(), k -> new ReentrantLock());
        local.lock();
        try (FileChannel ch = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = ch.lock()) {
            Manifest now = readOrEmpty(dir);
            Manifest next = change.apply(now);
            next.write(dir);
            return next;
        } finally {
            local.unlock();
        }
    }

    /** The case file of an entry (a path inside dir; the entry's file was checked by {@link #read}). */
    public static Path fileOf(Path dir, Entry e) {
        return dir.resolve(e.file());
    }

    /**
     * Opens the case file of an entry after checking it against the manifest: a regular file whose sha256 is the
     * entry's. Every tool that trusts a golden file (check, export) reads it through here.
     *
     * @throws BadInputException for a missing or special file, or a sha256 that differs (a damaged or changed
     *                           golden file: its values cannot be trusted)
     */
    public static SafeTensorsFile openVerified(Path dir, Entry e) {
        Path f = fileOf(dir, e);
        String sha;
        try {
            sha = sha256(f);
        } catch (IOException ex) {
            throw new BadInputException(f + ": cannot read: " + SafeFiles.reason(ex));
        }
        if (!sha.equals(e.sha256())) {
            throw new BadInputException(f + ": golden file of case " + e.tcId() + " " + e.name() + " does not match "
                    + "its manifest (sha256 " + sha.substring(0, 16) + "..., manifest " + e.sha256().substring(0, 16)
                    + "...): it was damaged or changed, so it is not used; restore it (git checkout) or regenerate "
                    + "it (swiattn golden generate)");
        }
        return SafeTensorsFile.open(f);
    }

    /** Writes {@code DIR/manifest.json} atomically ({@link SafeFiles#atomicWrite}). */
    public void write(Path dir) throws IOException {
        SafeFiles.writeString(dir.resolve(FILE), JSON.writeValueAsString(this) + "\n");
    }

    /** Lowercase hex sha256 of a regular file (a FIFO or device is refused unopened). */
    public static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        SafeFiles.requireRegularFile(file);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
