package org.swiattn.golden;

/** Progress of long work: {@code update("lse_all", 4096, 32768)}; implementations draw a bar or ignore it. */
@FunctionalInterface
public interface Progress {
    /** Ignores every update. */
    Progress NONE = (label, done, total) -> { };

    /**
     * @param label what is being computed
     * @param done  units done so far
     * @param total units in all
     */
    void update(String label, long done, long total);
}
