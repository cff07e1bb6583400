package org.swiattn.properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.swiattn.reference.PlainAttention;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/** The {@link UnderTest} fixture answers the three hooks of a property class that names it; nothing else does. */
class FixtureTest {
    static final SwitchAttention PLAIN = new PlainAttention();
    static final AttentionPropertiesBase.Bounds TIGHT = AttentionPropertiesBase.Bounds.uniform(in -> 1e-15);

    /** D <= 32 only, at the TIGHT bounds. */
    static final class Narrow implements Fixture {
        @Override
        public SwitchAttention implementation() {
            return PLAIN;
        }

        @Override
        public boolean supports(Shape shape, int window) {
            return shape.headDim() <= 32;
        }

        @Override
        public AttentionPropertiesBase.Bounds bounds() {
            return TIGHT;
        }
    }

    /** Only the implementation: the suite's defaults for the rest. */
    static final class Plain implements Fixture {
        @Override
        public SwitchAttention implementation() {
            return PLAIN;
        }
    }

    @UnderTest(Narrow.class)
    static final class OnNarrow extends ForwardProperties {
    }

    @UnderTest(Plain.class)
    static final class OnPlain extends ForwardProperties {
    }

    static final class OnNothing extends ForwardProperties {
    }

    @Test
    void theFixtureAnswersEveryHook() {
        OnNarrow p = new OnNarrow();
        assertSame(PLAIN, p.implementation());
        assertTrue(p.supports(new Shape(1, 4, 1, 1, 32), 2));
        assertFalse(p.supports(new Shape(1, 4, 1, 1, 64), 2));
        assertSame(TIGHT, p.bounds());
    }

    @Test
    void aFixtureWithoutHooksKeepsTheSuiteDefaults() {
        OnPlain p = new OnPlain();
        assertSame(PLAIN, p.implementation());
        assertTrue(p.supports(new Shape(1, 4, 1, 1, 256), 1));
        assertNotSame(TIGHT, p.bounds());
    }

    @Test
    void aClassWithNeitherOverrideNorFixtureSaysSo() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new OnNothing().implementation());
        assertEquals(OnNothing.class.getName() + ": override implementation() or name a fixture with @UnderTest",
                e.getMessage());
    }
}
