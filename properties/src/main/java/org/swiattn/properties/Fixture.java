package org.swiattn.properties;

import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * An implementation under test with its hooks, shared by the property classes that name it with {@link UnderTest}:
 * {@link AttentionPropertiesBase#implementation()}, {@link AttentionPropertiesBase#supports} and
 * {@link AttentionPropertiesBase#bounds()} answer from it unless a subclass overrides them.
 */
public interface Fixture {
    /** The implementation under test. Called often: return a cached instance. */
    SwitchAttention implementation();

    /** Whether the implementation handles this shape and window ({@link AttentionPropertiesBase#supports}). */
    default boolean supports(Shape shape, int window) {
        return true;
    }

    /** The bounds the implementation promises, or null for the spec's ({@link AttentionPropertiesBase#bounds()}). */
    default AttentionPropertiesBase.Bounds bounds() {
        return null;
    }
}
