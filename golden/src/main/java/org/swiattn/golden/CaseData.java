package org.swiattn.golden;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A computed golden case: its {@code __metadata__} and its tensors, in file order. Written by {@link #write};
 * the file bytes depend only on the case and the reference (no time stamps), so regenerating a case reproduces its
 * sha256 on any machine where the reference's floating-point results are the same.
 */
public final class CaseData {
    private final CaseSpec spec;
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, GTensor> tensors = new LinkedHashMap<>();

    CaseData(CaseSpec spec) {
        this.spec = spec;
    }

    public CaseSpec spec() {
        return spec;
    }

    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    public Map<String, GTensor> tensors() {
        return Collections.unmodifiableMap(tensors);
    }

    void put(String key, String value) {
        metadata.put(key, value);
    }

    void put(GTensor t) {
        tensors.put(t.name(), t);
    }

    /** Writes the case file atomically. */
    public void write(Path file) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata(metadata);
        for (GTensor t : tensors.values()) {
            t.addTo(w);
        }
        w.write(file);
    }
}
