package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code swiattn demo}: the subcommand is wired, lists its demonstrations and names a bad option. */
class DemoCommandTest {

    @Test
    void demoListsTransfer() {
        SwiattnCommandTest.Run r = SwiattnCommandTest.run("demo");
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(r.out()).contains("transfer");
    }

    @Test
    void badOptionValueIsBadInput() {
        SwiattnCommandTest.Run r = SwiattnCommandTest.run("demo", "transfer", "--seed", "abc");
        assertThat(r.rc()).isEqualTo(SwiattnCommand.EXIT_BAD_INPUT);
        assertThat(r.err()).contains("--seed").contains("abc").doesNotContain("\tat ");
    }
}
