package org.swiattn.properties;

import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Method;
import java.util.Optional;

import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * Books every property of the suite in {@link SuiteSummary}: which implementation it ran on, its tries and checks,
 * and whether it passed. Registered globally (META-INF/services), it applies only to property methods declared in
 * subclasses of {@link AttentionPropertiesBase}.
 */
public final class SummaryHook implements AroundPropertyHook {

    /** Registered at the engine root: must reach every property below it. */
    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }

    @Override
    public boolean appliesTo(Optional<AnnotatedElement> element) {
        return declaredIn(AttentionPropertiesBase.class, element);
    }

    /** Whether the element is a method declared in base or a subclass of it (for global hooks' appliesTo). */
    static boolean declaredIn(Class<?> base, Optional<AnnotatedElement> element) {
        return element.filter(e -> e instanceof Method)
                .map(e -> base.isAssignableFrom(((Method) e).getDeclaringClass()))
                .orElse(false);
    }

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        Object instance = context.testInstance();
        String impl = "unknown";
        if (instance instanceof AttentionPropertiesBase) {
            try {
                impl = ((AttentionPropertiesBase) instance).implementation().name();
            } catch (RuntimeException e) {
                impl = "unavailable (" + e.getClass().getSimpleName() + ")";   // the property itself will say why
            }
        }
        SuiteSummary.setCurrent(impl);
        PropertyExecutionResult result = property.execute();
        SuiteSummary.propertyFinished(impl,
                context.containerClass().getSimpleName() + "." + context.targetMethod().getName(),
                result.countTries(), result.countChecks(),
                result.status() == PropertyExecutionResult.Status.SUCCESSFUL);
        return result;
    }
}
