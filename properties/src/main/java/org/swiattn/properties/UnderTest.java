package org.swiattn.properties;

import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Names the {@link Fixture} a property class runs on, so that the subclasses of the suite's property classes for one
 * implementation carry one line each instead of the same overrides:
 * <pre>{@code
 *   @UnderTest(CudaFp64.class)
 *   class CudaFp64ForwardProperties extends ForwardProperties {
 *   }
 * }</pre>
 * The fixture class needs a constructor without arguments (it may be private); it is created once per fixture class.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@Inherited
public @interface UnderTest {
    /** The fixture: the implementation and its hooks. */
    Class<? extends Fixture> value();
}
