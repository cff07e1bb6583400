package org.swiattn.properties;

import java.lang.reflect.AnnotatedElement;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;

import org.swiattn.spec.SwitchAttention;

/**
 * Skips the properties of {@link SegmentProperties} on an implementation whose
 * {@link SwitchAttention#supportsSegments()} answers false, with that reason, and prints one line per such
 * implementation and run. Registered globally (META-INF/services) like {@link SummaryHook}, so every subclass of
 * {@link SegmentProperties} gets it whatever hooks it adds itself.
 */
public final class SegmentsSupported implements SkipExecutionHook {
    private static final Set<String> TOLD = new HashSet<>();

    /** Registered at the engine root: must reach every property below it. */
    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }

    @Override
    public boolean appliesTo(Optional<AnnotatedElement> element) {
        return SummaryHook.declaredIn(SegmentProperties.class, element);
    }

    @Override
    public SkipResult shouldBeSkipped(LifecycleContext context) {
        if (!(context instanceof PropertyLifecycleContext)
                || !(((PropertyLifecycleContext) context).testInstance() instanceof SegmentProperties)) {
            return SkipResult.doNotSkip();
        }
        SwitchAttention impl = ((SegmentProperties) ((PropertyLifecycleContext) context).testInstance())
                .implementation();
        if (impl.supportsSegments()) {
            return SkipResult.doNotSkip();
        }
        String why = impl.name() + " answers supportsSegments() = false (self-attention prefill only): the spec 2.0 "
                + "segment properties do not apply to it";
        synchronized (TOLD) {
            if (TOLD.add(impl.name())) {
                System.out.println("[swiattn-properties] skipped: " + why);
            }
        }
        return SkipResult.skip(why);
    }
}
